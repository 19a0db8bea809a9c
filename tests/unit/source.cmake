# Source rules (banned functions, a "why" comment atop each file): scripts/check-source.sh
add_test(NAME check_source COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/check-source.sh)
set_tests_properties(check_source PROPERTIES LABELS unit TIMEOUT 60)
# Style (.clang-format): scripts/check-style.sh; --fix rewrites
add_test(NAME check_style COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/check-style.sh)
set_tests_properties(check_style PROPERTIES LABELS unit TIMEOUT 120)
