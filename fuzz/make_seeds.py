#!/usr/bin/env python3
"""Writes the harnesses' seed inputs into fuzz/corpus/<harness>/ (committed; rerun after changing
a harness's input layout). Seeds are a few valid inputs per decoder, so the fuzzer starts from
the shapes the parsers accept."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# etcd_codec: selector byte (decoder index), then the body.
kv = '{"key":"Zm9v","create_revision":"5","mod_revision":"6","version":"2","value":"YmFy","lease":"7"}'
codec = [
    ("range", '{"header":{"revision":"9"},"kvs":[%s],"count":"1","more":true}' % kv),
    ("put", '{"header":{"revision":"10"},"prev_kv":%s}' % kv),
    ("delete", '{"header":{"revision":"11"},"deleted":"1","prev_kvs":[%s]}' % kv),
    ("txn", '{"header":{"revision":"9"},"succeeded":true,"responses":[{"response_range":'
            '{"header":{},"kvs":[%s]}},{"response_put":{"header":{}}},'
            '{"response_delete_range":{"deleted":"1"}}]}' % kv),
    ("lease_grant", '{"header":{"revision":"3"},"ID":"7587","TTL":"5"}'),
    ("lease_keepalive", '{"result":{"header":{},"ID":"1234","TTL":"3"}}'),
    ("lease_ttl", '{"header":{},"ID":"1234","TTL":"3","grantedTTL":"5","keys":["Zm9v"]}'),
    ("watch", '{"result":{"header":{"revision":"5"},"created":true,"events":[{"kv":%s},'
              '{"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"6"},"prev_kv":%s}]}}' % (kv, kv)),
    ("error", '{"error":"etcdserver: mvcc: required revision has been compacted",'
              '"message":"etcdserver: mvcc: required revision has been compacted","code":11}'),
    ("base64", "aGVsbG8gd29ybGQ="),
]
for i, (name, body) in enumerate(codec):
    write("etcd_codec", name, bytes([i]) + body.encode())
write("etcd_codec", "watch_canceled",
      bytes([7]) + b'{"result":{"header":{"raft_term":"2"},"canceled":true,'
                   b'"compact_revision":"3","cancel_reason":"compacted"}}')

# config_yaml: one file per role.
write("config_yaml", "member.yaml", """cluster: demo
name: m1
etcd: { endpoints: [127.0.0.1:2379], prefix: /rampart/pg, request_timeout: 500ms }
postgres:
  listen: 127.0.0.1:5433
  data_dir: /var/lib/rampart/m1/data
  bin_dir: /usr/lib/postgresql/15/bin
  parameters: { shared_buffers: 64MB }
rest: { listen: 127.0.0.1:8008, token: s3cret }
credentials:
  superuser:   { user: postgres,   password: pw }
  replication: { user: replicator, password: pw }
ha:
  leader_timeout: 1s
  heartbeat_interval: 100ms
  fence_margin: 300ms
  loop_interval: 100ms
  synchronous_mode: true
  synchronous_mode_strict: false
  synchronous_node_count: 1
  maximum_lag_on_failover: 1048576
  failsafe: true
tags: { nofailover: false, priority: 1 }
admin: { listen: 127.0.0.1:9100 }
""")
write("config_yaml", "lb.yaml", """mode: user
admin:
  listen: 127.0.0.1:9090
workers: 2
virtual_servers:
  - name: api
    listen: 127.0.0.100:6443
    policy: least-connections
    on_down: close
    health:
      type: http
      path: /primary
      status: 200-399
      extra_statuses: [401]
      interval: 100ms
      outage_interval: 50ms
      timeout: 50ms
      rise: 2
      fall: 3
      initial_state: down
    backends:
      - address: 127.0.0.11:6443
      - { address: 127.0.0.12:6443, weight: 3, max_connections: 100, check_port: 8008 }
  - name: write
    listen: 127.0.0.100:5432
    protocol: postgres
    promotion_wait: 2s
    health: { type: http, path: "/primary?promoting", status: 200, promoting_status: 202,
              draining_status: 307 }
    backends_from: { etcd: { endpoints: [http://127.0.0.1:2379], prefix: /rampart/lb/write/ } }
""")
write("config_yaml", "elect.yaml", """etcd:
  endpoints: [127.0.0.1:2379, 127.0.0.1:22379]
  request_timeout: 1s
election:
  key: /rampart/election/demo
  name: node-1
  ttl: 5s
log:
  level: info
admin: { listen: 127.0.0.1:0 }
""")

# pg_startup_gate: N, N piece sizes, then the client's bytes.
def be32(v):
    return struct.pack(">I", v)

def untyped(code, body=b""):
    return be32(8 + len(body)) + be32(code) + body

def typed(t, body):
    return t + be32(4 + len(body)) + body

startup = untyped(3 << 16, b"user\0app\0database\0app\0\0")
ssl = untyped((1234 << 16) | 5679)
gss = untyped((1234 << 16) | 5680)
cancel = untyped((1234 << 16) | 5678, be32(42) + be32(7))
password = typed(b"p", b"secret\0")
query = typed(b"Q", b"SELECT 1\0")
write("pg_startup_gate", "startup_password_query", b"\0" + startup + password + query)
write("pg_startup_gate", "ssl_then_startup_split", b"\3\2\7\1" + ssl + startup + password)
write("pg_startup_gate", "gss_cancel", b"\0" + gss + startup)
write("pg_startup_gate", "cancel", b"\0" + cancel)
write("pg_startup_gate", "tls_after_ssl", b"\0" + ssl + b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")

# values: selector byte (decoder index), then the value.
member = ('{"name":"m1","host":"127.0.0.1","port":5433,"rest":"127.0.0.1:8008","role":"replica",'
          '"state":"streaming","timeline":2,"write_lsn":"0/0","receive_lsn":"16/B374D848",'
          '"replay_lsn":"16/B374D800","upstream":"m2","nofailover":false,"priority":1,'
          '"race_rev":-1,"race_lsn":"0/0"}')
values = [
    ("member", member),
    ("sync", '{"leader":"m1","members":["m2","m3"],"quorum":1}'),
    ("cluster_settings", '{"paused":true}'),
    ("switchover", '{"from":"m1","to":"m2","force":false,"handover_lsn":"0/3000060","ready_revision":12}'),
    ("history", '{"kind":"failover","old_leader":"m1","new_leader":"m2","reason":"no heartbeat for 1s",'
                '"decision":"most advanced of 2 heard (lsn 0/3000060)","detected_at_ms":1700000000000,'
                '"decided_at_ms":1700000000100,"promoted_at_ms":1700000000300}'),
    ("lsn", "16/B374D848"),
    ("lag", "16MB"),
    ("backend", '{"address":"127.0.0.11:5432","weight":2,"max_connections":100,"check_port":8008}'),
    ("endpoint", "http://127.0.0.1:2379"),
    ("duration", "1m30s"),
    ("cluster_json", """{"kind": "rampart", "dir": "/tmp/lab",
  "members": [
    {"name": "m1", "host": "127.0.0.1", "port": 5433, "data_dir": "/tmp/lab/m1/data",
     "manager_pid": 1234, "rest": "127.0.0.1:8008",
     "start_command": ["/abs/rampart", "pg", "--config", "/tmp/lab/m1/member.yaml"],
     "log_file": "/tmp/lab/m1/manager.log"}],
  "etcd": [{"name": "e1", "pid": 111, "client": "127.0.0.1:2379"}],
  "write_vip": "127.0.0.1:6000", "read_vip": "127.0.0.1:6001",
  "user": "postgres", "password": "secret", "database": "postgres",
  "switchover_command": ["/abs/rampart", "pg", "switchover", "--to", "{candidate}"]}"""),
]
for i, (name, value) in enumerate(values):
    write("values", name, bytes([i]) + value.encode())
write("values", "backend_plain", bytes([7]) + b"127.0.0.12:5432")

# Inputs that crashed a parser once (regression seeds; see the unit tests named in the commit).
write("values", "crash_lag_too_large", bytes([6]) + b"99999999999999999999")
write("values", "crash_backend_weight_string", bytes([7]) + b'{"address":"127.0.0.1:1","weight":"x"}')
write("values", "crash_backend_weight_float", bytes([7]) + b'{"address":"127.0.0.1:1","weight":1e30}')

# http_server: one connection's raw bytes.
http = {
    "get_replica_lag": "GET /replica?lag=16MB HTTP/1.1\r\nHost: m1\r\n\r\n",
    "get_primary_promoting": "GET /primary?promoting HTTP/1.1\r\nHost: m1\r\n\r\n"
                             "GET /status HTTP/1.1\r\nConnection: close\r\n\r\n",
    "post_switchover": "POST /switchover HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n"
                       "Content-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"to\":\"m2\"}",
    "post_failsafe_chunked": "POST /failsafe HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "5\r\n{\"lea\r\n9\r\nder\":\"m1\"\r\n1\r\n}\r\n0\r\n\r\n",
    "post_pause_no_token": "POST /pause HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    "http10": "GET /health HTTP/1.0\r\n\r\n",
}
for name, raw in http.items():
    write("http_server", name, raw)

# api_protobuf: a protobuf request body; the seeds are what kubectl 1.32 sent
# (src/api/testdata/*.pb).
testdata = os.path.join(HERE, "..", "src", "api", "testdata")
for entry in sorted(os.listdir(testdata)):
    if entry.endswith(".pb"):
        with open(os.path.join(testdata, entry), "rb") as f:
            write("api_protobuf", entry[:-3], f.read())

# redis_resp: one connection's raw bytes, as Sentinel-aware clients and people with telnet send
# them.
resp = {
    "get_master_addr": "*3\r\n$8\r\nSENTINEL\r\n$23\r\nget-master-addr-by-name\r\n"
                       "$8\r\nmymaster\r\n",
    "hello_setname_pipelined": "*4\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$7\r\nSETNAME\r\n$3\r\napp\r\n"
                               "*2\r\n$8\r\nSENTINEL\r\n$7\r\nmasters\r\n*1\r\n$4\r\nPING\r\n",
    "replicas_and_sentinels": "*3\r\n$8\r\nSENTINEL\r\n$8\r\nreplicas\r\n$8\r\nmymaster\r\n"
                              "*3\r\n$8\r\nsentinel\r\n$9\r\nsentinels\r\n$8\r\nmymaster\r\n",
    "inline_quotes": "PING \"a\\x41\\n b\" 'it\\'s'\r\nROLE\r\nclient setname x\r\nQUIT\r\n",
    "empty_lines_and_arrays": "\r\n*0\r\n*-1\r\nPING\r\n",
    "binary_bulk": "*2\r\n$4\r\nPING\r\n$5\r\na\r\n\x00b\r\n",
    "unknown_and_auth": "*3\r\n$3\r\nGET\r\n$1\r\nx\r\n$1\r\ny\r\nAUTH pw\r\nAUTH default pw\r\n",
    "info_replication": "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"
                        "slave0:ip=127.0.0.1,port=6380,state=online,offset=1441,lag=0\r\n"
                        "master_repl_offset:1441\r\n",
}
for name, raw in resp.items():
    write("redis_resp", name, raw.encode("latin-1"))
