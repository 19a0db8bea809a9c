# The whole system through the ingress (label integration): scripts/run.sh's path, as a test.
sg_add_shell_test(system_e2e ${CMAKE_CURRENT_SOURCE_DIR}/integration/system_e2e.sh integration TIMEOUT 400)
# The new-code gate end to end: base analyses, classification, check runs (DESIGN.md section 9).
sg_add_shell_test(system_gate ${CMAKE_CURRENT_SOURCE_DIR}/integration/system_gate.sh integration TIMEOUT 300)
