# The whole system through the ingress (label integration): scripts/run.sh's path, as a test.
if(TARGET singularity-worker AND TARGET singularity-github-sim AND TARGET singularity-ingress)
  sg_add_shell_test(system_e2e ${CMAKE_CURRENT_SOURCE_DIR}/integration/system_e2e.sh integration TIMEOUT 400)
endif()
