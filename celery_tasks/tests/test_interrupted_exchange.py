"""A broker exchange interrupted between two reads of a frame (Ctrl-C, SIGTERM as an exception) ends at once.

Found with `producer demo` interrupted while it counted consumers: kombu's ``with connection:``
closed with AMQP's handshake on a stream left mid-frame, read the rest of the old frame as a new
one (a 176 MB "frame") and waited for it forever (py-spy: ``Connection.close`` → ``read_frame``).
"""

import threading

from celery_tasks.tasks import diagnostics

from celery_tasks import create_app


def interrupt_after_a_frame_header(app):
    """The next connection the app opens raises KeyboardInterrupt once, right after reading a frame's header.

    That is where a signal handler's exception lands when the signal arrives between the two
    reads of one frame: the payload is left unread in the socket.
    """
    opened = []
    open_connection = app.connection_for_write
    armed = [True]

    def trapped(*args, **kwargs):
        connection = open_connection(*args, **kwargs)
        connection.ensure_connection(max_retries=1)
        if not armed[0]:
            return connection
        transport = connection.connection.transport
        read = transport._read

        def read_then_interrupt(n, initial=False, *rest):
            data = read(n, initial, *rest)
            if initial and armed[0]:
                armed[0] = False
                raise KeyboardInterrupt
            return data

        transport._read = read_then_interrupt
        opened.append(connection)
        return connection

    app.connection_for_write = trapped
    return opened


def run_bounded(call, timeout=15.0):
    """Run ``call`` on a thread; what it raised, or 'still running' if it did not end within ``timeout``."""
    outcome = []

    def target():
        try:
            call()
            outcome.append("returned")
        except BaseException as exc:  # the interrupt is what we look for
            outcome.append(type(exc).__name__)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else "still running"


def test_consumer_count_interrupted_mid_frame_passes_the_interrupt_on_at_once(task_settings):
    app = create_app([diagnostics.Echo], task_settings)
    opened = interrupt_after_a_frame_header(app)
    try:
        outcome = run_bounded(lambda: app.consumer_count(diagnostics.Echo.name))
        assert outcome == "KeyboardInterrupt", "the close handshake waited on a stream left mid-frame"
        assert not opened[0].connected, "the interrupted connection is dropped, not kept open"
        assert app.consumer_count(diagnostics.Echo.name) == 0, "the next exchange opens a fresh connection"
    finally:
        for connection in opened:
            connection.collect()  # also frees a thread stuck in the handshake


def test_declare_interrupted_mid_frame_passes_the_interrupt_on_and_a_retry_declares(task_settings, management, vhost):
    app = create_app([diagnostics.Echo], task_settings)
    opened = interrupt_after_a_frame_header(app)
    try:
        assert run_bounded(lambda: app.declare_topology_once(diagnostics.Echo.name)) == "KeyboardInterrupt"
        app.declare_topology_once(diagnostics.Echo.name)
        assert management.queue(vhost, diagnostics.Echo.name)["arguments"]["x-queue-type"] == "quorum"
    finally:
        for connection in opened:
            connection.collect()
