#!/usr/bin/env python3
"""A small stand-in for a service's REST API, for the hooks' tests.

    server.py PORTFILE TOKEN

listens on a free loopback port, writes the port to PORTFILE and serves:
  POST   /projects        {"name", "owner"}: 201 {"id", ...}; a repeated
                          Idempotency-Key gets 200 and the same project;
                          400 name not a string, 422 bad name, 404 unknown
                          owner (*@unknown.example), 409 name taken
  GET    /projects/ID     200 the project, 404
  DELETE /projects/ID     204, 404
Every /projects request needs "Authorization: Bearer TOKEN" (else 401).
Test controls:
  POST /_fail {"status", "times", "body"}  the next TIMES requests get STATUS
  GET  /_log                               the requests so far (JSON lines)
  POST /_reset                             forget everything
"""
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {}


def reset():
    STATE.update(projects={}, keys={}, fail=[], log=[], next=1)


class API(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(n) or b"null")
        except ValueError:
            return None

    def control(self):
        if self.path == "/_reset":
            reset()
            self.reply(204)
        elif self.path == "/_fail":
            f = self.body()
            STATE["fail"] += [(f["status"], f.get("body"))] * f.get("times", 1)
            self.reply(204)
        elif self.path == "/_log":
            self.send_response(200)
            self.end_headers()
            self.wfile.write("".join(json.dumps(e) + "\n" for e in STATE["log"]).encode())
        else:
            self.reply(404, {"message": "no such control"})

    def handle_api(self):
        if self.path.startswith("/_"):
            return self.control()
        data = self.body()
        STATE["log"].append({"method": self.command, "path": self.path,
                             "authorization": self.headers.get("Authorization"),
                             "idempotency_key": self.headers.get("Idempotency-Key"),
                             "body": data})
        if STATE["fail"]:
            status, body = STATE["fail"].pop(0)
            return self.reply(status, body)
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.reply(401, {"message": "bad token"})
        m = re.fullmatch(r"/projects(?:/([^/]+))?", self.path)
        if not m:
            return self.reply(404, {"message": "no such endpoint"})
        pid = m.group(1)
        if self.command == "POST" and pid is None:
            return self.create(data)
        if pid is None or self.command not in ("GET", "DELETE"):
            return self.reply(405, {"message": "method not allowed"})
        if pid not in STATE["projects"]:
            return self.reply(404, {"message": "no such project"})
        if self.command == "GET":
            return self.reply(200, STATE["projects"][pid])
        del STATE["projects"][pid]
        return self.reply(204)

    def create(self, data):
        key = self.headers.get("Idempotency-Key")
        if key in STATE["keys"]:
            return self.reply(200, STATE["projects"][STATE["keys"][key]])
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return self.reply(400, {"message": "name must be a string"})
        name = data["name"]
        if not re.fullmatch(r"[a-z][a-z0-9-]{2,30}", name):
            return self.reply(422, {"message": "name must be 3 to 31 lower-case letters, digits or -"})
        if str(data.get("owner")).endswith("@unknown.example"):
            return self.reply(404, {"message": "the owner has no account here"})
        if any(p["name"] == name for p in STATE["projects"].values()):
            return self.reply(409, {"message": "a project named %s exists already" % name})
        pid = "prj-%d" % STATE["next"]
        STATE["next"] += 1
        STATE["projects"][pid] = {"id": pid, "name": name, "owner": data.get("owner")}
        if key:
            STATE["keys"][key] = pid
        return self.reply(201, STATE["projects"][pid])

    do_GET = do_POST = do_DELETE = do_PUT = handle_api


if __name__ == "__main__":
    portfile, TOKEN = sys.argv[1], sys.argv[2]
    reset()
    server = ThreadingHTTPServer(("127.0.0.1", 0), API)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(portfile + ".tmp", portfile)
    server.serve_forever()
