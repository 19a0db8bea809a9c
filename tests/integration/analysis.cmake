# singularity-analyze from the outside: exit status, JSON keys, dir/tarball/stdin agreement,
# SARIF validated by Microsoft's SARIF Multitool, hostile tarballs (label integration).
sg_add_shell_test(an_cli ${CMAKE_CURRENT_SOURCE_DIR}/integration/an_cli.sh integration TIMEOUT 180)
# singularity-analyze --base: the new-code gate from the command line (DESIGN.md section 9).
sg_add_shell_test(an_base ${CMAKE_CURRENT_SOURCE_DIR}/integration/an_base.sh integration TIMEOUT 180)
