# Black-box acceptance suite (DESIGN.md against @octokit/webhooks-examples, webhooks-methods, openapi).
sg_add_shell_test(acceptance ${CMAKE_CURRENT_SOURCE_DIR}/integration/acceptance.sh integration TIMEOUT 300)
