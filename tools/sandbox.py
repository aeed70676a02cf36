"""Run code that is not the project's (a graded exercise, a student's recipe copy) in a
child process that leaves nothing behind.

``Sandbox`` starts this file as a small supervisor (``python sandbox.py --supervise``),
which starts the command in a fresh temporary working directory, in its own session.
On Linux the supervisor is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``): every
process the command starts, double-forked daemons and new sessions included, becomes
the supervisor's child when its parent ends, so that when the command ends, times out,
or the grader is stopped (Ctrl-C, SIGTERM, SIGHUP, or the grader's death), the
supervisor kills its whole process group and every descendant it can find, and waits
for each. The parent then removes the temporary folder, which only the run wrote to.

What this is not: a security sandbox. The code runs as the same user, can read and
write any file that user can (by absolute path), and can use the network. docs/grading.md
says what would be one (a container, a separate user).

Only the standard library is imported here: the supervisor runs as a plain script.
"""

from __future__ import annotations

import collections
import ctypes
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

OUTPUT_KEPT = 64 * 1024  # bytes of the child's stdout and stderr kept (the last ones)
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_KILL_WAIT = 10.0  # seconds the supervisor waits for killed descendants to be reaped

# Terminal escape sequences (CSI, OSC and the two-character ones), then any other
# control character: text a student's code produced cannot colour or move the terminal.
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])"
                      r"|\x9b[0-?]*[ -/]*[@-~]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, one_line: bool = True) -> str:
    """``text`` without terminal escape codes and control characters (and, when
    ``one_line``, with every run of white space, newlines included, as one space)."""
    text = _CONTROLS.sub("", _ESCAPES.sub("", str(text)))
    return " ".join(text.split()) if one_line else text


# ---------------------------------------------------------------------------------------
# The supervisor (runs as a script)


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children_of(root: int) -> list[int]:
    """Every living descendant of ``root``, from /proc (empty where there is none)."""
    parents = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                fields = file.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # it ended meanwhile
        if fields and fields[0] != b"Z":
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _end_everything(group: int) -> None:
    """Kill the command's process group and every descendant, and reap them all."""
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
    deadline = time.monotonic() + _KILL_WAIT
    while time.monotonic() < deadline:
        for pid in _children_of(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no child left: every descendant was ours (subreaper) and is gone
        if pid == 0:
            time.sleep(0.01)


class _Stop(BaseException):
    pass


class _ParentGone(_Stop):
    pass


def _stop(signum, frame):
    raise _Stop


def _parent_gone(signum, frame):
    raise _ParentGone


# The kernel's word that the grader is gone: a signal of its own, because the parent id
# cannot tell. The kernel sends it when the grader's *thread* that started this process
# ends; a killed grader's threads end one by one, and until the last one has, the parent
# id is unchanged.
_PARENT_GONE = signal.SIGUSR1
# The grader's ways of telling this process to stop (it then removes the folder itself).
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def supervise(cwd: str, command: list[str]) -> int:
    """Run ``command`` in ``cwd`` in its own session; end everything it started when it
    ends or this process is told to stop. Exit status: the command's (128 + signal when
    a signal ended it)."""
    parent = os.getppid()
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(_PARENT_GONE, _parent_gone)
    _prctl(_PR_SET_PDEATHSIG, _PARENT_GONE)  # the grader killed: clean up all the same
    for signum in _STOP_SIGNALS:
        signal.signal(signum, _stop)
    status = 128 + signal.SIGTERM
    child, parent_gone = None, False
    try:
        if os.getppid() != parent:
            raise _ParentGone  # the grader ended before PDEATHSIG was set
        child = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                                 start_new_session=True, close_fds=False)
        while True:
            pid, wait_status = os.waitpid(-1, 0)  # orphans adopted meanwhile are reaped too
            if pid == child.pid:
                status = os.waitstatus_to_exitcode(wait_status)
                status = 128 - status if status < 0 else status
                break
    except _ParentGone:
        parent_gone = True
    except _Stop:
        pass
    finally:
        for signum in (*_STOP_SIGNALS, _PARENT_GONE):
            signal.signal(signum, signal.SIG_IGN)
        if child is not None:
            _end_everything(child.pid)
        if parent_gone or os.getppid() != parent:
            _remove_tree(Path(cwd))  # nobody else is left to remove it
    return status


# ---------------------------------------------------------------------------------------
# The parent's side


def _remove_tree(path: Path) -> None:
    """Remove the temporary folder, whatever permissions the child left on it (links in
    it are removed, never followed)."""

    def allow_and_retry(function, failed_path, _error):
        try:
            os.chmod(os.path.dirname(failed_path), stat.S_IRWXU)
            if os.path.isdir(failed_path) and not os.path.islink(failed_path):
                os.chmod(failed_path, stat.S_IRWXU)
            function(failed_path)
        except OSError:
            pass

    shutil.rmtree(path, onerror=allow_and_retry)


class _BoundedOutput:
    """Reads a pipe to its end in a thread, keeping only its last OUTPUT_KEPT bytes."""

    def __init__(self, fd: int):
        self.kept = collections.deque()
        self.size = 0
        self.thread = threading.Thread(target=self._read, args=(fd,), daemon=True)
        self.thread.start()

    def _read(self, fd):
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                self.kept.append(chunk)
                self.size += len(chunk)
                while self.size - len(self.kept[0]) >= OUTPUT_KEPT:
                    self.size -= len(self.kept.popleft())
        except OSError:
            pass
        finally:
            os.close(fd)

    def text(self) -> str:
        self.thread.join(timeout=5)
        return b"".join(self.kept)[-OUTPUT_KEPT:].decode("utf-8", errors="replace")


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


class Sandbox:
    """``with Sandbox(command, pass_fds) as box:`` runs ``command`` (a list; the
    supervisor adds nothing to it) in ``box.cwd``, a new temporary folder; leaving the
    block ends every process it started and removes the folder.

    ``box.wait(timeout)`` -> exit status or None; ``box.output()`` -> the last 64 KB of
    its stdout and stderr together; ``box.returncode`` once it ended."""

    def __init__(self, command: list[str], pass_fds=(), env=None, prefix="sandbox-"):
        self.command, self.pass_fds, self.env, self.prefix = command, pass_fds, env, prefix
        self.cwd: Path | None = None
        self.process = None
        self.returncode = None
        self._output = None
        self._handlers = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            # SIGHUP (and SIGTERM, where nothing handles it) end the grader through
            # KeyboardInterrupt, so that the block's end still cleans up.
            for signum in (signal.SIGHUP, signal.SIGTERM):
                if signal.getsignal(signum) in (signal.SIG_DFL, None):
                    self._handlers[signum] = signal.signal(signum, _raise_interrupt)
        self.cwd = Path(tempfile.mkdtemp(prefix=self.prefix))
        read_end, write_end = os.pipe()
        try:
            flags = ["-E", "-P"] if sys.version_info >= (3, 11) else ["-E"]
            self.process = subprocess.Popen(
                [sys.executable, *flags, str(Path(__file__).resolve()), "--supervise",
                 str(self.cwd), "--", *self.command],
                stdin=subprocess.DEVNULL, stdout=write_end, stderr=write_end,
                pass_fds=tuple(self.pass_fds), env=self.env)
        except BaseException:
            os.close(read_end)
            self._cleanup()
            raise
        finally:
            os.close(write_end)
        self._output = _BoundedOutput(read_end)
        return self

    def wait(self, timeout=None):
        try:
            self.returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def output(self) -> str:
        return self._output.text() if self._output else ""

    def stop(self) -> None:
        """End the command and everything it started (the supervisor does the killing)."""
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=_KILL_WAIT + 5)
            except (subprocess.TimeoutExpired, OSError):
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.returncode is None:
            self.returncode = self.process.returncode

    def _cleanup(self):
        try:
            self.stop()
        finally:
            if self.cwd is not None and self.cwd.exists():
                _remove_tree(self.cwd)
            for signum, handler in self._handlers.items():
                signal.signal(signum, handler)
            self._handlers = {}

    def __exit__(self, *exc):
        self._cleanup()
        return False


if __name__ == "__main__" and sys.argv[1:2] == ["--supervise"]:
    # sandbox.py --supervise CWD -- COMMAND...
    raise SystemExit(supervise(sys.argv[2], sys.argv[4:]))
