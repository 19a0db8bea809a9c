# singularity-analyze from the outside: exit status, JSON keys, dir/tarball/stdin agreement,
# SARIF validated by Microsoft's SARIF Multitool, hostile tarballs (label integration).
sg_add_shell_test(an_cli ${CMAKE_CURRENT_SOURCE_DIR}/integration/an_cli.sh integration TIMEOUT 180)
# The repository analysed by its own engine under its own .singularity.yml passes its gate at 8.0
# (fast, no servers: label unit).
sg_add_shell_test(an_self ${CMAKE_CURRENT_SOURCE_DIR}/integration/an_self.sh unit TIMEOUT 120)
# The SEC rules against gitleaks itself on gitleaks' own rule samples (label integration).
sg_add_shell_test(an_secrets_oracle ${CMAKE_CURRENT_SOURCE_DIR}/integration/an_secrets_oracle.sh integration TIMEOUT 900)
# singularity-analyze --base: the new-code gate from the command line (DESIGN.md section 9).
sg_add_shell_test(an_base ${CMAKE_CURRENT_SOURCE_DIR}/integration/an_base.sh integration TIMEOUT 180)
