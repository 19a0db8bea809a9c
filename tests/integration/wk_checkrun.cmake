# A job resumed after its worker died (or lost PostgreSQL) between creating the check run and
# storing its id reuses that check run, found on GitHub by external_id (label integration).
sg_add_shell_test(wk_checkrun_resume ${CMAKE_CURRENT_SOURCE_DIR}/integration/wk_checkrun_resume.sh integration TIMEOUT 240)
