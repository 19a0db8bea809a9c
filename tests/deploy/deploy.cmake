# Why: the deploy tests (label "deploy") prove the Helm chart, the two images and the compose
# stack work for real; scripts/test.sh runs them after the unit and integration tests. The image
# and compose tests share the machine's podman storage, so they never run at the same time.
sg_add_shell_test(deploy_chart ${CMAKE_CURRENT_SOURCE_DIR}/deploy/chart.sh deploy TIMEOUT 1800)
sg_add_shell_test(deploy_images ${CMAKE_CURRENT_SOURCE_DIR}/deploy/images.sh deploy TIMEOUT 1800)
set_tests_properties(deploy_images PROPERTIES RESOURCE_LOCK podman)
sg_add_shell_test(deploy_compose ${CMAKE_CURRENT_SOURCE_DIR}/deploy/compose.sh deploy TIMEOUT 1500)
set_tests_properties(deploy_compose PROPERTIES RESOURCE_LOCK podman)
