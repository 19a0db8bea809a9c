# Worker integration tests (label integration): real redis-server, PostgreSQL, the GitHub
# simulator, the ingress and singularity-worker binaries, each started by the script on free
# loopback ports.
if(TARGET sg_worker)
  add_executable(test_worker_queue_redis unit/worker_queue_redis.c)
  target_link_libraries(test_worker_queue_redis PRIVATE sg_worker PkgConfig::CMOCKA)
  sg_add_shell_test(worker_queue ${CMAKE_CURRENT_SOURCE_DIR}/integration/worker_queue.sh integration TIMEOUT 120)
  sg_add_shell_test(worker_db ${CMAKE_CURRENT_SOURCE_DIR}/integration/worker_db.sh integration TIMEOUT 180)
endif()
if(TARGET singularity-worker AND TARGET singularity-github-sim)
  sg_add_shell_test(worker_jobs ${CMAKE_CURRENT_SOURCE_DIR}/integration/worker_jobs.sh integration TIMEOUT 400)
  sg_add_shell_test(worker_limits ${CMAKE_CURRENT_SOURCE_DIR}/integration/worker_limits.sh integration TIMEOUT 240)
  sg_add_shell_test(worker_answers ${CMAKE_CURRENT_SOURCE_DIR}/integration/worker_answers.sh integration TIMEOUT 120)
  sg_add_shell_test(worker_pgbouncer ${CMAKE_CURRENT_SOURCE_DIR}/integration/worker_pgbouncer.sh integration TIMEOUT 180)
endif()
