"""Connectors: a transcript's note and action items pushed to CRMs and task tools.

- :mod:`._registry`: each org's connectors, their credentials sealed (:mod:`._secrets`);
- :mod:`._payload`: what is sent, read from the transcript's snapshot (text only);
- :mod:`._outbox`: the durable outbox in SQL;
- :mod:`._dispatch`: the dispatcher that works it off, with retries;
- :mod:`.targets`: one module per vendor.
"""

from ._dispatch import Dispatcher as Dispatcher
from ._dispatch import DispatchOptions as DispatchOptions
from ._outbox import enqueue as enqueue
from ._outbox import pushes as pushes
from ._registry import ConnectorError as ConnectorError
from ._registry import ConnectorSpec as ConnectorSpec
from ._registry import add_connector as add_connector
from ._registry import list_connectors as list_connectors
from ._registry import open_connector as open_connector
from ._registry import pick_connector as pick_connector
from ._registry import remove_connector as remove_connector
from ._secrets import KEY_ENV as KEY_ENV
from ._secrets import SecretBox as SecretBox
from ._secrets import SecretError as SecretError
from ._secrets import new_key as new_key
from .targets import TARGETS as TARGETS
from .targets import TargetError as TargetError
from .targets import target_of as target_of
