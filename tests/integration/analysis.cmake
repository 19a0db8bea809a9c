# singularity-analyze from the outside: exit status, JSON keys, dir/tarball/stdin agreement,
# SARIF validated by Microsoft's SARIF Multitool, hostile tarballs (label integration).
if(TARGET singularity-analyze)
  sg_add_shell_test(analysis_cli ${CMAKE_CURRENT_SOURCE_DIR}/integration/analysis_cli.sh integration TIMEOUT 180)
endif()
# The SEC rules against gitleaks itself on gitleaks' own rule samples (label integration).
if(TARGET singularity-analyze)
  sg_add_shell_test(secrets_oracle ${CMAKE_CURRENT_SOURCE_DIR}/integration/secrets_oracle.sh integration TIMEOUT 900)
endif()
