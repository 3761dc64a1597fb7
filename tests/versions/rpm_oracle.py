"""Test oracle run by the SYSTEM python (/usr/bin/python3 with Debian's python3-rpm).

Reads JSON lines from stdin and answers each with one JSON line:
  ["label", [e, v, r], [e, v, r]] -> rpm.labelCompare result (-1/0/1)
  ["parse", "E:V-R"]              -> [e, v, r] as rpm.ver() splits it
"""

import json
import sys

import rpm

for line in sys.stdin:
    request = json.loads(line)
    if request[0] == "label":
        answer = rpm.labelCompare(tuple(request[1]), tuple(request[2]))
    else:
        parsed = rpm.ver(request[1])
        answer = [parsed.e, parsed.v, parsed.r]
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
