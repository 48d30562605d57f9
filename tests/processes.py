"""Several local processes at once, on 127.0.0.1: multi-worker training and searches."""

import json
import os
import socket
import subprocess


def free_addresses(count):
    """``count`` addresses ``127.0.0.1:PORT`` whose ports are free now."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    return addresses


def tf_config(workers, index):
    """The TF_CONFIG of worker ``index`` of a cluster of ``workers`` addresses."""
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def run_together(commands, timeout=240, cwd=None):
    """Starts every ``(argv, env)`` at once and waits for all of them (killing any left at
    ``timeout`` seconds); returns ``(returncode, stdout, stderr)`` of each."""
    processes = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env})
        for argv, env in commands
    ]
    try:
        outputs = [p.communicate(timeout=timeout) for p in processes]
    finally:
        for p in processes:
            p.kill()
    return [(p.returncode, stdout, stderr) for p, (stdout, stderr) in zip(processes, outputs)]
