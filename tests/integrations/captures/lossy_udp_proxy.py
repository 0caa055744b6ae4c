"""Loopback UDP relay that drops a share of caller-to-listener datagrams (used to capture loss)."""

import argparse
import random
import selectors
import socket
import time


def relay(listen_port: int, target_port: int, loss: float, seconds: float, seed: int) -> None:
    """Forward datagrams both ways for a bounded time, dropping `loss` of the forward ones."""
    rng = random.Random(seed)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", listen_port))
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.connect(("127.0.0.1", target_port))
    caller = None
    sel = selectors.DefaultSelector()
    sel.register(front, selectors.EVENT_READ)
    sel.register(back, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            if key.fileobj is front:
                data, caller = front.recvfrom(65536)
                if rng.random() >= loss:
                    back.send(data)
            elif caller is not None:
                front.sendto(back.recv(65536), caller)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("listen_port", type=int)
    parser.add_argument("target_port", type=int)
    parser.add_argument("--loss", type=float, default=0.03)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    relay(args.listen_port, args.target_port, args.loss, args.seconds, args.seed)
