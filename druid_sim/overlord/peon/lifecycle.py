"""The start and the end every peon logs, around its task's own lines.

Start-up (``CliPeon`` / ``GuiceRunnable``): extensions loaded, processors and memory, the runtime
properties one per line, lifecycle stages, the ZooKeeper session, ``Running with task: {...}`` (the
task JSON as Jackson pretty-prints it), the task directory lock, ``Running task: <id>``, Jetty on the
peon's port, the node announcement. The end: the task's last lines, or an exception, or a graceful
stop; ``Task completed with status: {...}``; the lifecycle stopped stage by stage; ``Finished peon
task`` (printed to stdout, without a timestamp, as ``CliPeon`` does).
"""

from __future__ import annotations

import random
import re
from typing import Any

import orjson

from druid_sim.clock import format_instant
from druid_sim.overlord.jackson import pretty
from druid_sim.overlord.logblocks import BlockWriter
from druid_sim.overlord.peon.base import (
    ANNOUNCER,
    AT_UPTIME,
    BACKGROUND,
    CLI_PEON,
    EXECUTOR,
    LIFECYCLE,
    RUNNER,
    VERSION,
    Out,
    Peon,
    text,
)

CURATOR = "org.apache.curator.framework.imps.CuratorFrameworkImpl"
ZOOKEEPER = "org.apache.zookeeper.ZooKeeper"
CLIENT_CNXN = "org.apache.zookeeper.ClientCnxn"
JETTY = "org.eclipse.jetty.server.Server"
CONNECTOR = "org.eclipse.jetty.server.AbstractConnector"
CONTEXT = "org.eclipse.jetty.server.handler.ContextHandler"
#: Extensions' jars as ``ExtensionsLoader`` lists them.
EXTENSION_JARS = {
    "druid-s3-extensions": "druid-s3-extensions-35.0.0.jar, aws-java-sdk-s3-1.12.784.jar, "
    "aws-java-sdk-kms-1.12.784.jar, jmespath-java-1.12.784.jar",
    "druid-kafka-indexing-service": "druid-kafka-indexing-service-35.0.0.jar, kafka-clients-3.9.1.jar, "
    "lz4-java-1.8.0.jar, zstd-jni-1.5.6-4.jar, snappy-java-1.1.10.7.jar",
    "druid-datasketches": "druid-datasketches-35.0.0.jar, datasketches-java-6.2.0.jar, datasketches-memory-3.0.2.jar",
    "druid-multi-stage-query": "druid-multi-stage-query-35.0.0.jar",
    "postgresql-metadata-storage": "postgresql-metadata-storage-35.0.0.jar, postgresql-42.7.5.jar, "
    "checker-qual-3.48.3.jar",
}
_JAVA_OPTS = (
    '["-server","-Xms1g","-Xmx1g","-XX:MaxDirectMemorySize=1g","-Duser.timezone=UTC","-Dfile.encoding=UTF-8",'
    '"-XX:+ExitOnOutOfMemoryError","-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager"]'
)
_FRAMES = (
    "{task}.runTask({file}.java:{line}) ~[druid-indexing-service-{version}.jar:{version}]",
    "org.apache.druid.indexing.common.task.AbstractTask.run(AbstractTask.java:179) "
    "~[druid-indexing-service-{version}.jar:{version}]",
    "org.apache.druid.indexing.overlord.SingleTaskBackgroundRunner$SingleTaskBackgroundRunnerCallable.call("
    "SingleTaskBackgroundRunner.java:478) [druid-indexing-service-{version}.jar:{version}]",
    "org.apache.druid.indexing.overlord.SingleTaskBackgroundRunner$SingleTaskBackgroundRunnerCallable.call("
    "SingleTaskBackgroundRunner.java:450) [druid-indexing-service-{version}.jar:{version}]",
    "java.base/java.util.concurrent.FutureTask.run(FutureTask.java:264) [?:?]",
    "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136) [?:?]",
    "java.base/java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:635) [?:?]",
    "java.base/java.lang.Thread.run(Thread.java:840) [?:?]",
)


def _properties(peon: Peon) -> list[tuple[str, str]]:
    """What ``druid.startup.logging.logProperties`` prints, sorted, secrets masked."""
    ctx = peon.ctx
    pools = ctx.pools
    loaded = ", ".join(f'"{name}"' for name in peon.extensions)
    return sorted(
        {
            "druid.emitter": "logging",
            "druid.emitter.logging.logLevel": "info",
            "druid.extensions.loadList": f"[{loaded}]",
            "druid.host": ctx.host,
            "druid.indexer.logs.s3Bucket": pools.deep_storage,
            "druid.indexer.logs.s3Prefix": "druid/indexing-logs",
            "druid.indexer.logs.type": "s3",
            "druid.indexer.runner.javaOptsArray": _JAVA_OPTS,
            "druid.indexer.task.baseTaskDir": "var/druid/task",
            "druid.metadata.storage.connector.connectURI": f"jdbc:postgresql://{pools.metadata_host}:5432/druid",
            "druid.metadata.storage.connector.password": "<masked>",
            "druid.metadata.storage.connector.user": "druid",
            "druid.metadata.storage.type": "postgresql",
            "druid.plaintextPort": str(ctx.port),
            "druid.processing.buffer.sizeBytes": "100MiB",
            "druid.processing.numMergeBuffers": "2",
            "druid.processing.numThreads": "1",
            "druid.service": "druid/middleManager",
            "druid.startup.logging.logProperties": "true",
            "druid.storage.baseKey": "druid/segments",
            "druid.storage.bucket": pools.deep_storage,
            "druid.storage.type": "s3",
            "druid.tlsPort": "-1",
            "druid.zk.paths.base": "/druid",
            "druid.zk.service.host": ",".join(f"{host}:2181" for host in pools.zookeepers),
            "file.encoding": "UTF-8",
            "java.vendor": "Eclipse Adoptium",
            "java.version": "17.0.14",
            "log4j.configurationFile": "conf/druid/cluster/_common/log4j2.xml",
            "user.timezone": "UTC",
        }.items()
    )


def _node(peon: Peon, start_ms: int) -> str:
    """The peon's ``DiscoveryDruidNode`` as it is announced (and unannounced)."""
    ctx = peon.ctx
    node = {
        "service": "druid/middleManager",
        "host": ctx.host,
        "bindOnHost": False,
        "plaintextPort": ctx.port,
        "port": -1,
        "tlsPort": -1,
        "enablePlaintextPort": True,
        "enableTlsPort": False,
    }
    services = {
        "dataNodeService": {
            "type": "dataNodeService",
            "tier": "_default_tier",
            "maxSize": 0,
            "serverType": "indexer-executor",
            "priority": 0,
        },
        "lookupNodeService": {"type": "lookupNodeService", "lookupTier": "__default"},
    }
    found = {"druidNode": node, "nodeType": "peon", "services": services, "startTime": format_instant(start_ms)}
    return orjson.dumps(found).decode()


def startup(peon: Peon, payload: dict[str, Any], start_ms: int) -> list[Out]:
    """Everything a peon logs from its JVM's start to ``Running task`` and its task type's first lines."""
    ctx = peon.ctx
    rng = random.Random(f"{peon.task.seed}:startup")
    task_id = peon.task.id
    zk = rng.choice(ctx.pools.zookeepers)
    zk_ip, my_ip = rng.choice(ctx.pools.ips), rng.choice(ctx.pools.ips)
    out: list[Out] = []
    for number, name in enumerate(peon.extensions):
        jars = EXTENSION_JARS.get(name, f"{name}-{VERSION}.jar")
        loaded = f"Loading extension [{name}], jars: {jars}. Druid extension dependencies []"
        after = rng.randint(700, 1300) if number == 0 else rng.randint(15, 140)
        out.append(Out(after, text("INFO", "main", "org.apache.druid.guice.ExtensionsLoader", loaded)))
    memory = 1_073_741_824
    started = (
        f"Starting up with processors[{rng.choice((2, 4, 8))}], memory[{memory:,}], maxMemory[{memory:,}], "
        f"directMemory[{memory:,}]. Properties follow."
    )
    out.append(Out(rng.randint(400, 900), text("INFO", "main", CLI_PEON, started)))
    out += [
        Out(rng.randint(0, 1), text("INFO", "main", CLI_PEON, f"* {key}: {value}")) for key, value in _properties(peon)
    ]
    send = f"main-SendThread({zk}:2181)"
    ensemble = ",".join(f"{host}:2181" for host in ctx.pools.zookeepers)
    connecting = f"Initiating client connection, connectString={ensemble} sessionTimeout=30000 "
    node = _node(peon, start_ms)
    out += [
        Out(rng.randint(20, 90), text("INFO", "main", LIFECYCLE, "Starting lifecycle [module] stage [INIT]")),
        Out(rng.randint(5, 40), text("INFO", "main", CURATOR, "Starting")),
        Out(rng.randint(1, 9), text("INFO", "main", ZOOKEEPER, f"{connecting}watcher=org.apache.curator.ConnectionState@{peon.hashes[0]}")),
        Out(rng.randint(2, 30), text("INFO", send, CLIENT_CNXN, f"Opening socket connection to server {zk}/{zk_ip}:2181.")),
        Out(rng.randint(1, 12), text("INFO", send, CLIENT_CNXN, f"Socket connection established, initiating session, "
                                     f"client: /{my_ip}:{rng.randint(32768, 60999)}, server: {zk}/{zk_ip}:2181")),
        Out(rng.randint(2, 25), text("INFO", send, CLIENT_CNXN, f"Session establishment complete on server {zk}/{zk_ip}"
                                     f":2181, session id = {peon.session}, negotiated timeout = 30000")),
        Out(rng.randint(0, 3), text("INFO", "main-EventThread", "org.apache.curator.framework.state.ConnectionStateManager",
                                    "State change: CONNECTED")),
        Out(rng.randint(60, 400), text("INFO", "main", LIFECYCLE, "Starting lifecycle [module] stage [NORMAL]")),
        Out(rng.randint(30, 200), text("INFO", "main", EXECUTOR, f"Running with task: {pretty(payload)}")),
        Out(rng.randint(1, 6), text("INFO", "main", EXECUTOR, f"Attempting to lock file[var/druid/task/{task_id}/lock].")),
        Out(rng.randint(0, 2), text("INFO", "main", EXECUTOR, f"Acquired lock file[var/druid/task/{task_id}/lock] in "
                                    f"{rng.randint(0, 3)}ms.")),
        Out(rng.randint(5, 60), text("INFO", RUNNER, BACKGROUND, f"Running task: {task_id}")),
        Out(rng.randint(1, 20), text("INFO", "main", LIFECYCLE, "Starting lifecycle [module] stage [SERVER]")),
        Out(rng.randint(2, 15), text("INFO", "main", JETTY, "jetty-9.4.57.v20241219; built: 2025-01-08T21:24:30.412Z; "
                                     "git: df524e6b29271c2e09ba9aea83c18dc9db464a31; jvm 17.0.14+7")),
        Out(rng.randint(40, 300), text("INFO", "main", CONTEXT, f"Started o.e.j.s.ServletContextHandler@{peon.hashes[1]}"
                                       "{/,null,AVAILABLE}")),
        Out(rng.randint(1, 12), text("INFO", "main", CONNECTOR, f"Started ServerConnector@{peon.hashes[2]}{{HTTP/1.1, "
                                     f"(http/1.1)}}{{0.0.0.0:{ctx.port}}}")),
        Out(rng.randint(0, 3), text("INFO", "main", JETTY, f"Started @{AT_UPTIME}ms")),
        Out(rng.randint(1, 10), text("INFO", "main", LIFECYCLE, "Starting lifecycle [module] stage [ANNOUNCEMENTS]")),
        Out(rng.randint(2, 30), text("INFO", "main", ANNOUNCER, f"Announced self [{node}].")),
        Out(rng.randint(0, 4), text("INFO", "main", LIFECYCLE, "Successfully started lifecycle [module]")),
    ]  # fmt: skip
    return out + peon.starting()


def _exception(error_msg: str) -> str:
    """The exception line of a failed task's stack trace (its ``errorMsg`` is the exception's ``toString()``)."""
    if re.match(r"^[\w.$]+(Exception|Error)\b", error_msg):
        return error_msg
    return f"org.apache.druid.java.util.common.RE: {error_msg}"


def ending(
    peon: Peon, status: dict[str, Any], how: str, writer: BlockWriter, body_bytes: int, start_ms: int
) -> tuple[list[Out], list[Out]]:
    """(lines before ``Task completed with status``, that line and the rest) for a task ending ``how``.

    ``how``: ``success``, ``failed`` (an exception in the task) or ``shutdown`` (a graceful stop).
    """
    task = peon.task
    before: list[Out]
    if how == "success":
        before = peon.finishing(writer, body_bytes)
    elif how == "shutdown":
        before = [Out(0, text("INFO", "Thread-57", CLI_PEON, "Running shutdown hook")), *peon.stopping()]
    else:
        where = peon.task_class.rsplit(".", 1)[-1]
        line = random.Random(task.seed).randint(180, 900)
        frames = [frame.format(task=peon.task_class, file=where, line=line, version=VERSION) for frame in _FRAMES]
        described = (
            f"AbstractTask{{id='{task.id}', groupId='{task.group_id}', taskResource=TaskResource{{availabilityGroup="
            f"'{task.id}', requiredCapacity=1}}, dataSource='{task.datasource}', context={{forceTimeChunkLock=true, "
            "useLineageBasedSegmentAllocation=true}}"
        )
        before = [
            Out(3, text("ERROR", RUNNER, BACKGROUND, f"Exception while running task[{described}]")),
            Out(0, _exception(str(status.get("errorMsg") or "")), stamped=False),
            *(Out(0, f"\tat {frame}", stamped=False) for frame in frames),
        ]
    node = _node(peon, start_ms)
    port = peon.ctx.port
    after = [
        Out(1, text("INFO", RUNNER, EXECUTOR, f"Task completed with status: {pretty(status)}")),
        Out(6, text("INFO", "main", LIFECYCLE, "Stopping lifecycle [module] stage [ANNOUNCEMENTS]")),
        Out(1, text("INFO", "main", ANNOUNCER, f"Unannounced self [{node}].")),
        Out(4, text("INFO", "main", LIFECYCLE, "Stopping lifecycle [module] stage [SERVER]")),
        Out(2, text("INFO", "main", CONNECTOR, f"Stopped ServerConnector@{peon.hashes[2]}{{HTTP/1.1, (http/1.1)}}"
                    f"{{0.0.0.0:{port}}}")),
        Out(1, text("INFO", "main", CONTEXT, f"Stopped o.e.j.s.ServletContextHandler@{peon.hashes[1]}{{/,null,STOPPED}}")),
        Out(3, text("INFO", "main", LIFECYCLE, "Stopping lifecycle [module] stage [NORMAL]")),
        Out(12, text("INFO", "main", LIFECYCLE, "Stopping lifecycle [module] stage [INIT]")),
        Out(1, text("INFO", "main", CURATOR, "backgroundOperationsLoop exiting")),
        Out(9, text("INFO", "main", ZOOKEEPER, f"Session: {peon.session} closed")),
        Out(0, text("INFO", "main-EventThread", CLIENT_CNXN, f"EventThread shut down for session: {peon.session}")),
        Out(2, "Finished peon task", stamped=False),
    ]  # fmt: skip
    return before, after
