"""The timing proxy from inside an attempt's container, on a real engine: its socket (mounted read-only) and the
loopback forwarder reach the model as the agent's user, and nothing else does — a server listening on every host
interface, which the host itself reaches at the bridge's gateway address, cannot be reached from the container."""

from __future__ import annotations

import fcntl
import os
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ripsaw.agents.proxy import FORWARD_PORT, FORWARDER, SOCKET_DIR, SOCKET_NAME, TimingProxy, relaying
from ripsaw.agents.scaffold import FILES_DIR, with_forwarder
from ripsaw.providers.openai_compat import OpenAICompatProvider
from ripsaw.sandboxes.workspace import Box, Workspaces
from ripsaw.tasks import RepoTests
from ripsaw.tasks.repo import load_repo_task
from tests.refserver import RefServer, Reply
from tests.sandboxes.conftest import require_docker

pytestmark = pytest.mark.docker
TASK = Path(__file__).resolve().parents[2] / "tasks" / "repo" / "slugify-edges"
RUN_ID = f"tests-proxy-{os.getpid()}"
KEY = "sk-real-key"

# A chat request over the Unix socket with the standard library only, as the agent's user inside the box.
UDS_CLIENT = f"""
import http.client, json, socket
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect("{SOCKET_DIR}/{SOCKET_NAME}")
c = C("proxy")
c.request("POST", "/v1/chat/completions", json.dumps({{"model": "ref-model", "messages": [{{"role": "user",
          "content": "hi"}}]}}), {{"content-type": "application/json", "authorization": "Bearer dummy"}})
r = c.getresponse(); print(r.status, json.loads(r.read())["choices"][0]["message"]["content"])
"""
TCP_CLIENT = """
import json, urllib.request
req = urllib.request.Request("http://127.0.0.1:{port}/v1/chat/completions", json.dumps({{"model": "ref-model",
      "messages": [{{"role": "user", "content": "hi"}}]}}).encode(), {{"content-type": "application/json"}})
print(json.loads(urllib.request.urlopen(req, timeout=20).read())["choices"][0]["message"]["content"])
"""
DIRECT = """
import socket, sys
try:
    socket.create_connection(("{host}", {port}), timeout=5)
except OSError as e:
    print("refused:", e); sys.exit(3)
print("connected")
"""


def _gateway(spaces: Workspaces) -> str:
    """The host's address on the default bridge: its IPAM gateway where the engine reports one (some engines list
    only the subnet), else the address of the bridge's interface on the host."""
    bridge = spaces.client.networks.get("bridge")
    gateway = (bridge.attrs["IPAM"]["Config"] or [{}])[0].get("Gateway")
    if gateway:
        return str(gateway)
    name = bridge.attrs["Options"].get("com.docker.network.bridge.name", "docker0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        packed = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
    return socket.inet_ntoa(packed[20:24])


_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Box, TimingProxy, RefServer, str]]:
    require_docker()
    task = load_repo_task(TASK)
    assert isinstance(task.tests, RepoTests)
    with RefServer([Reply(text="hello through the proxy")], api_key=KEY, host="0.0.0.0", spin_s=0) as server:
        provider = OpenAICompatProvider(f"http://127.0.0.1:{server.port}/v1", "ref-model", KEY)
        proxy = TimingProxy(relaying(provider, "c"), "ref-model")
        await proxy.start()
        assert proxy.directory is not None
        spaces = Workspaces(RUN_ID)
        box = await spaces.box(task.id, task.tests, "proxy", mounts={str(proxy.directory): SOCKET_DIR})
        try:
            yield box, proxy, server, _gateway(spaces)
        finally:
            await box.close()
            spaces.close()
            await proxy.aclose()
            await provider.aclose()


async def test_the_socket_and_the_forwarder_reach_the_model_and_nothing_else_does(
    setup: tuple[Box, TimingProxy, RefServer, str],
) -> None:
    box, proxy, server, gateway = setup
    # Control: the server is up on the gateway address, for whoever has a route to it.
    with socket.create_connection((gateway, server.port), timeout=5):
        pass
    direct = await box.exec(f"python3 -c '{DIRECT.format(host=gateway, port=server.port)}'", timeout_s=30)
    assert direct.exit_code == 3 and "unreachable" in direct.output.lower(), direct.output
    outside = await box.exec(f"python3 -c '{DIRECT.format(host='1.1.1.1', port=443)}'", timeout_s=30)
    assert outside.exit_code == 3, outside.output
    assert server.requests == []

    via_socket = await box.exec(f"python3 -c '{UDS_CLIENT}'", timeout_s=60)
    assert via_socket.exit_code == 0 and via_socket.output.split() == ["200", "hello", "through", "the", "proxy"]

    # The forwarder as a scaffold gets it: copied in by root, started by the scaffold solver's wrapper.
    await box.put(FILES_DIR, {"forwarder.py": FORWARDER.read_bytes()}, mode=0o644)
    start = with_forwarder(f"python3 -c '{TCP_CLIENT.format(port=FORWARD_PORT)}'")
    via_tcp = await box.exec(start, timeout_s=60)
    assert via_tcp.exit_code == 0 and via_tcp.output.strip() == "hello through the proxy", via_tcp.output

    # Both calls were timed and reached the endpoint with the real key (it answers 401 to any other).
    assert len(proxy.calls) == 2 and all(c.timing.first_any_ns is not None for c in proxy.calls)
    assert len(server.requests) == 2
    # The mount is read-only: the agent cannot swap the socket for its own.
    swap = await box.exec(f"rm -f {SOCKET_DIR}/{SOCKET_NAME} || echo denied", timeout_s=10, user="0:0")
    assert "denied" in swap.output and (proxy.socket_path).exists()
