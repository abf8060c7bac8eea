"""The relay's SQL layer: tables, connections and migrations.

Example:
    >>> from relay.db import Base, DocUpdate
    >>> DocUpdate.__tablename__
    'doc_updates'
"""

from ._connectors import FINAL_STATES as FINAL_STATES
from ._connectors import PUSH_STATES as PUSH_STATES
from ._connectors import Connector as Connector
from ._connectors import ConnectorLink as ConnectorLink
from ._connectors import ConnectorPush as ConnectorPush
from ._models import ROLES as ROLES
from ._models import Action as Action
from ._models import AuditEvent as AuditEvent
from ._models import Base as Base
from ._models import DeletedTranscript as DeletedTranscript
from ._models import DocUpdate as DocUpdate
from ._models import JobLease as JobLease
from ._models import Org as Org
from ._models import Segment as Segment
from ._models import Transcript as Transcript
from ._models import User as User
from ._models import as_utc as as_utc
from ._models import iso as iso
from ._schema import SEARCH_OBJECTS as SEARCH_OBJECTS
from ._schema import DatabaseUrlError as DatabaseUrlError
from ._schema import NotMigratedError as NotMigratedError
from ._schema import check_migrated as check_migrated
from ._schema import connect as connect
from ._schema import default_database_url as default_database_url
from ._schema import include_object as include_object
from ._schema import upgrade as upgrade
from ._schema import writer as writer

__all__ = [
    "FINAL_STATES",
    "PUSH_STATES",
    "ROLES",
    "SEARCH_OBJECTS",
    "Action",
    "AuditEvent",
    "Base",
    "Connector",
    "ConnectorLink",
    "ConnectorPush",
    "DatabaseUrlError",
    "DeletedTranscript",
    "DocUpdate",
    "JobLease",
    "NotMigratedError",
    "Org",
    "Segment",
    "Transcript",
    "User",
    "as_utc",
    "check_migrated",
    "connect",
    "default_database_url",
    "include_object",
    "iso",
    "upgrade",
    "writer",
]
