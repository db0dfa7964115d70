"""The cluster commands of a server started without `cluster-enabled` (Redis's default).

Redis answers every CLUSTER subcommand, READONLY, READWRITE and ASKING with the same error
when cluster support is off; respdb has no cluster mode yet, so it always answers so (after
the usual lookup and arity checks, which the engine does first, as Redis does).
"""

from __future__ import annotations

from respdb.commands.table import TABLE, command, container
from respdb.errors import CommandError

DISABLED = "ERR This instance has cluster support disabled"


def cmd_cluster_disabled(c, argv):
    raise CommandError(DISABLED)


command("readonly", "readwrite", "asking")(cmd_cluster_disabled)
command(*(sub.fullname for sub in TABLE.commands["cluster"].subcommands.values()))(cmd_cluster_disabled)
container("cluster")
