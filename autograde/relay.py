"""The grader's side of the checker: carries its requests to the student's kernel and back.

The checker (inside/checker.py) and the student's kernel never talk to each other directly: the
checker binds a socket in its own private directory, which only the grader connects to; the grader
passes each request on to the student's kernel as a shell message of a per-kernel random type
(answered by inside/bridge.py) and hands the answer back, or an error when the student's kernel
died, stopped answering or sent more than a message may hold. One thread per notebook.
"""
from __future__ import annotations

import json
import queue
import threading
import time

import zmq
from jupyter_client.blocking.client import BlockingKernelClient

from .inside.limits import MAX_MESSAGE


class Relay:
    def __init__(self, checker_address: str, student_km, entry: str, timeout: float):
        self.address, self.student_km, self.entry, self.timeout = checker_address, student_km, entry, timeout
        self.context = zmq.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
        self.context.setsockopt(zmq.LINGER, 0)
        self._stop = threading.Event()
        self._wake = f"inproc://autograde-relay-{id(self):x}"  # close() need not wait out a poll
        self._ready = threading.Event()
        self.student_died = False
        self._thread = threading.Thread(target=self._run, name="autograde-relay", daemon=True)
        self._thread.start()
        self._ready.wait(30)

    def close(self) -> None:
        self._stop.set()
        wake = self.context.socket(zmq.PAIR)
        try:
            wake.connect(self._wake)
            wake.send(b"", zmq.NOBLOCK)
        except zmq.ZMQError:
            pass
        self._thread.join(10)
        wake.close(0)
        self.context.destroy(linger=0)

    def _student_alive(self) -> bool:
        process = getattr(self.student_km.provisioner, "process", None)
        if process is None:
            return False
        gone = getattr(process, "_gone", None)  # a zygote kernel: /proc only, no zygote request from here
        return not gone() if gone is not None else process.poll() is None

    def _run(self) -> None:
        checker = self.context.socket(zmq.DEALER)
        wake = self.context.socket(zmq.PAIR)
        wake.bind(self._wake)
        client = None
        try:
            checker.connect(self.address)
            client = BlockingKernelClient(context=self.context)
            client.load_connection_info(self.student_km.get_connection_info())
            client.session.signature_scheme = self.student_km.session.signature_scheme
            client.session.key = self.student_km.session.key
            client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
            poller = zmq.Poller()
            poller.register(checker, zmq.POLLIN)
            poller.register(wake, zmq.POLLIN)
            self._ready.set()
            while not self._stop.is_set():
                if checker not in dict(poller.poll(1000)):
                    continue
                raw = checker.recv()
                try:
                    request = json.loads(raw)
                    ident, payload = request["id"], request["request"]
                except (ValueError, KeyError, TypeError):
                    continue
                checker.send(json.dumps({"id": ident, **self._ask(client, payload)}).encode())
        finally:
            self._ready.set()
            if client is not None:
                client.stop_channels()
            checker.close(0)
            wake.close(0)

    def _ask(self, client, payload) -> dict:
        if self.student_died or not self._student_alive():
            self.student_died = True
            return {"error": "stopped"}
        msg = client.session.msg(self.entry, payload)
        client.shell_channel.send(msg)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                reply = client.shell_channel.get_msg(timeout=0.2)
            except queue.Empty:
                if not self._student_alive():
                    self.student_died = True
                    return {"error": "stopped"}
                continue
            if reply.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
                continue
            text = reply.get("content", {}).get("json")
            return {"json": text} if isinstance(text, str) else {"error": "unreadable"}
        return {"error": "no_answer"}
