"""A merchant's system receiving webhooks: a real HTTP server on 127.0.0.1 in a thread."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    """Records every POST (headers and body) and answers with the next of `answers` (200 once they run
    out); an answer "slow" sleeps past the sender's timeout."""

    def __init__(self):
        self.received, self.answers = [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                answer = receiver.answers.pop(0) if receiver.answers else 200
                if answer == "slow":
                    time.sleep(1.5)
                    answer = 200
                if isinstance(answer, tuple):  # (status, Location) for a redirect
                    self.send_response(answer[0])
                    self.send_header("Location", answer[1])
                else:
                    self.send_response(answer)
                self.end_headers()
                self.wfile.write(json.dumps({"ok": answer == 200}).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"

    def events(self):
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver is on this machine
    settings.WEBHOOK_TIMEOUT = 1.0
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
