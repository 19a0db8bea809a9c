# Why: the deploy tests (label "deploy") prove the Helm chart, the two images and the compose
# stack work for real; scripts/test.sh runs them after the unit and integration tests.
sg_add_shell_test(deploy_chart ${CMAKE_CURRENT_SOURCE_DIR}/deploy/chart.sh deploy TIMEOUT 1800)
