"""The session against a local HTTP server: an echoed password is scrubbed from the error."""

import http.server
import threading
import uuid

import pytest

from broker_admin import ManagementAPIError, ManagementClient

SECRET = "s3cret-" + uuid.uuid4().hex


class EchoingHandler(http.server.BaseHTTPRequestHandler):
    """A server that refuses every request and echoes its body, as a careless proxy might."""

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        self.send_response(400)
        self.end_headers()
        self.wfile.write(b"bad request: " + body)

    def log_message(self, *args):
        pass


def test_an_echoed_password_is_scrubbed_from_errors():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ManagementClient(f"http://127.0.0.1:{server.server_port}", "admin", SECRET)
        with pytest.raises(ManagementAPIError) as caught:
            client.create_user("someone", SECRET + "-new")
    finally:
        server.shutdown()
        server.server_close()
    assert "400" in str(caught.value) and "bad request" in str(caught.value)
    assert SECRET not in str(caught.value)
