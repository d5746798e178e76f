"""HTTP sessions without per-request waste, for the lister and the sender.

requests, by default, looks the environment up on every request (proxy variables, `~/.netrc`,
`REQUESTS_CA_BUNDLE`) and reads a body in 10 KB chunks joined afterwards. Here the proxy and
CA-bundle variables are read once at start for the one server a session talks to, `trust_env`
is off (so `~/.netrc` is never read: its basic auth would replace our Authorization header),
and a body is read with one call. The session keeps its connection open between requests.
"""

import os

import requests
from requests.utils import get_environ_proxies


def session_for(url: str, *, verify: bool | str = True) -> requests.Session:
    """A keep-alive session for `url`'s server; environment proxies and CA bundle (when
    `verify` is True, as requests would) resolved now, once."""
    session = requests.Session()
    session.proxies.update(get_environ_proxies(url))
    if verify is True:
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.verify = verify
    session.trust_env = False
    return session


def read_body(response: requests.Response) -> bytes:
    """The whole body of a `stream=True` response in one read; the connection goes back to
    the pool (the body is read to its end). Later `.json()` / `.text` use the same bytes."""
    body: bytes = response.raw.read(decode_content=True)
    response._content = body  # what requests itself fills on `.content`
    return body
