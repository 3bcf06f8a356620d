"""The seam: every Celery, kombu and py-amqp internal the runtime depends on is used in this package.

Checked against celery 5.7.0, kombu 5.7.0, amqp (py-amqp) 5.4.2; each item has a test in
celery_tasks/tests/test_upstream_conformance.py (or test_fast_paths.py where named).

In this package:
- messages.py: amqp.Message.PROPERTIES order -> header-frame flag bits of the prepared message.
- messages.py: override of amqp.Message._serialize_properties -> the header frame encoded in advance.
- messages.py: task._get_exec_options() -> the task's default priority and time limits.
- messages.py: app.amqp.create_task_message(...) -> the header template of a contract's messages.
- messages.py: app.amqp.kwargsrepr_maxsize -> the kwargsrepr header cut as Celery cuts it.
- messages.py: the AMQP 0-9-1 content-header frame encoded by hand (shortstr, table, flags).
- messages.py: Celery protocol 2 body layout [args, kwargs, embed].
- messages.py: before_task_publish / after_task_publish re-sent with Celery's arguments.
- publish.py: amqp.Channel._basic_publish -> publish without waiting for each confirm (bulk window).
- publish.py: backend.on_task_call(producer, task_id) -> rpc:// declares its reply queue.
- publish.py: kombu connection.ensure(obj, fn) calls obj.revive(channel) -> NoRevive.
- publish.py: app.current_worker_task -> a send from a running task takes Celery's path (parent id).
- publish.py: app.thread_oid, and a cache in the task instance's __dict__ keyed by it.
- rpc.py: celery.backends.asynchronous._waiting_on (private helper).
- rpc.py: copied ResultConsumer._wait_for_pending (cooperative sleep added).
- rpc.py: copied ResultConsumer.on_state_change (uses _pending_results, _pending_messages,
  result._maybe_set_cache, backend._out_of_band).
- rpc.py: RPCBackend.binding overridden (a durable, expiring reply queue; 5.7 declares it otherwise).
- rpc.py: RPCBackend.store_result rewritten (deferred acks on the solo pool, backend._to_result).
- rpc.py: RPCBackend.on_task_call via connection.declared_entities (one declaration per interval).
- rpc.py: channel.send_method(spec.Basic.Publish, "Bssbb", ...) -> a publish frame sent raw.
- rpc.py: DeferredAcksStep assumes the SoloPool (acks on the consumer thread).
- request.py: Request.on_failure / on_timeout overridden (parking instead of Celery's reject/requeue).
- request.py: Request.acknowledged set by hand; Request._message, Request._connection_errors read.
- consumer.py: DelayedDelivery swapped by its name in Consumer.Blueprint.default_steps.
- consumer.py: DelayedDelivery._validate_configuration, _setup_delayed_delivery(c, url), _on_retry and
  the module's RETRIED_EXCEPTIONS / RETRY_INTERVAL / MAX_RETRIES (set up on the connected node only).
- consumer.py: connection_for_write / ensure_connected of the consumer; mark_as_failure with a
  faked request; on_unknown_message / on_unknown_task / on_invalid_task / on_decode_error hooks.
- publish.py: py-amqp basic_publish(confirm_timeout=...) -> the single send's confirm wait.
- publish.py: kombu connection.ensure(revive, fn, **policy) -> the one publish-with-retry helper.
- database_store.py: SessionManager.forked set by hand; session_manager._engines (pools dropped after fork).
- backends.py: Celery.backend_cls set to a class path (the rpc:// and pooled database backends).
- backends.py: Backend._get_result_meta and DatabaseBackend._update_result (batched submitted records).
- worker.py: Celery's logger names "celery.worker.strategy", "celery.app.trace" (per-task INFO lines).
- worker.py: the worker's command-line options read by hand (-Q, -P, -c, --prefetch-multiplier, -l).
- worker.py: how="Warm" of worker_shutting_down (the bounded warm shutdown, then SIGQUIT).
- worker.py: celery._state.get_current_task and celery._state._get_active_apps.
- worker.py: celery.apps.worker.safe_say replaced in JSON-log mode.
- worker.py: the text "Login was refused" of the broker's AccessRefused for wrong credentials.

Outside this package:
- celery_tasks.contract (core): overrides the public Task.apply_async and rewrites ``run`` in
  __init_subclass__ (public extension points of celery.Task, not internals).
- runtime/metrics.py: prometheus_client.values.ValueClass patched (not Celery; listed for completeness).
- producer/schedule.py: celery.apps.beat.Beat.install_sync_handler replaced (beat stops between sends
  instead of closing the connection inside the signal handler); Service.start's handling of the
  SystemExit that ContractScheduler.tick raises (producer/tests/test_schedule.py).
- producer/dead_letters/letters.py: reads the body of a parked message as Celery's message protocol 2
  ([args, kwargs, embed]; a documented format, the same layout messages.py writes) to list dead letters.
"""
