"""A minimal HTTP/1.1 keep-alive client for load generation: little CPU per request, so the
generator sharing the machine with the services is not what limits them."""

import asyncio
from dataclasses import dataclass


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def open(cls, host: str, port: int) -> "Connection":
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request; read its response (the services always send Content-Length)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def request(method: str, host: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Pool:
    """Idle keep-alive connections; a request finding none idle opens another (an open-loop
    generator must never wait for a connection: that would hide the server's delay)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: list[Connection] = []
        self.opened = 0
        self.stale = 0

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        while self._idle:
            connection = self._idle.pop()
            try:
                status, body = await connection.exchange(request)
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closed it while idle (uvicorn does after 5 s): the request was not
                # read, so it is sent again on another connection, as HTTP clients do.
                connection.close()
                self.stale += 1
                continue
            self._idle.append(connection)
            return status, body
        connection = await Connection.open(self.host, self.port)
        self.opened += 1
        status, body = await connection.exchange(request)
        self._idle.append(connection)
        return status, body

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
