"""HTTP sessions without per-request waste, for the lister and the sender.

requests, by default, looks the environment up on every request (proxy variables, `~/.netrc`,
`REQUESTS_CA_BUNDLE`) and reads a body in 10 KB chunks joined afterwards. Here the proxy for the
one server a session talks to is resolved once at start, `trust_env` is off, and a body is read
with one call. The session keeps its connection open (keep-alive) between requests.
"""

import requests
from requests.utils import get_environ_proxies


def session_for(url: str) -> requests.Session:
    """A keep-alive session for `url`'s server; environment proxies resolved now, once."""
    session = requests.Session()
    session.proxies.update(get_environ_proxies(url))
    session.trust_env = False
    return session


def read_body(response: requests.Response) -> bytes:
    """The whole body of a `stream=True` response in one read; the connection goes back to
    the pool (the body is read to its end). Later `.json()` / `.text` use the same bytes."""
    body: bytes = response.raw.read(decode_content=True)
    response._content = body  # what requests itself fills on `.content`
    return body
