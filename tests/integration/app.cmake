# Registering the GitHub App (DESIGN.md section 12; label integration): app.yml against GitHub's
# manifest parameters, `register` played through a browser against the simulator, `doctor` against
# each first-hour mistake.
sg_add_shell_test(app_manifest ${CMAKE_CURRENT_SOURCE_DIR}/integration/app_manifest.sh integration TIMEOUT 60)
sg_add_shell_test(app_register ${CMAKE_CURRENT_SOURCE_DIR}/integration/app_register.sh integration TIMEOUT 300)
sg_add_shell_test(app_doctor ${CMAKE_CURRENT_SOURCE_DIR}/integration/app_doctor.sh integration TIMEOUT 300)
