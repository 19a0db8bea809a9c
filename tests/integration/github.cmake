# GitHub client and simulator integration tests (label integration).
if(TARGET singularity-github-sim)
  sg_add_shell_test(github_sim integration/github_sim.sh integration TIMEOUT 120)
endif()
