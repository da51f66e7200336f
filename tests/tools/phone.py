#!/usr/bin/env python3
"""phone.py -- a page as a phone shows it, through Chromium's DevTools pipe.

    [PHONE_SCROLL_TO=ID] phone.py CHROMIUM URL WIDTH HEIGHT OUT.png [JS]

Headless Chromium will not make a window narrower than 500 pixels, so a
390-pixel phone cannot be had from --window-size.  This opens URL in a tab
whose viewport is set to WIDTH x HEIGHT (Emulation.setDeviceMetricsOverride,
as DevTools' device mode does), lets the page run for 8 s, saves a
screenshot of the whole page in OUT.png, and prints the value of the
expression JS (JSON) evaluated in the page.  The DevTools protocol goes
over --remote-debugging-pipe: NUL-terminated JSON on descriptors 3 and 4,
so nothing listens on a port.  No library beyond Python's own.
"""
import base64, fcntl, json, os, subprocess, sys, tempfile, time

chromium, url, width, height, out = sys.argv[1:6]
expr = sys.argv[6] if len(sys.argv) > 6 else "document.title"
to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()
# Chromium's ends, moved out of the way of 3 and 4 where the child wants
# them: dup2 of a descriptor onto itself would leave it close-on-exec.
moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_chrome_r, from_chrome_w)]
os.close(to_chrome_r)
os.close(from_chrome_w)
to_chrome_r, from_chrome_w = moved
profile = tempfile.mkdtemp(prefix="phone-profile-")
proc = subprocess.Popen(
    [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
     "--disable-extensions", "--remote-debugging-pipe", "--user-data-dir=" + profile,
     "about:blank"],
    close_fds=False, stdout=subprocess.DEVNULL,
    stderr=open(os.environ.get("PHONE_LOG", os.devnull), "w"),
    preexec_fn=lambda: (os.dup2(to_chrome_r, 3), os.dup2(from_chrome_w, 4)))
os.close(to_chrome_r)
os.close(from_chrome_w)
buf = b""
next_id = 0


def call(method, params=None, session=None, deadline=30):
    global buf, next_id
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if session:
        msg["sessionId"] = session
    os.write(to_chrome_w, json.dumps(msg).encode() + b"\0")
    end = time.time() + deadline
    while time.time() < end:
        while b"\0" in buf:
            raw, buf = buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == next_id:
                if "error" in reply:
                    raise SystemExit("phone.py: %s: %s" % (method, reply["error"]))
                return reply.get("result", {})
        chunk = os.read(from_chrome_r, 1 << 20)
        if not chunk:
            raise SystemExit("phone.py: Chromium closed the pipe")
        buf += chunk
    raise SystemExit("phone.py: no answer to " + method)


try:
    target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    call("Emulation.setDeviceMetricsOverride", {"width": int(width), "height": int(height),
         "deviceScaleFactor": 1, "mobile": True}, session)
    call("Page.enable", {}, session)
    call("Page.navigate", {"url": url}, session)
    time.sleep(8)
    value = call("Runtime.evaluate", {"expression": "JSON.stringify(" + expr + ")",
                                      "returnByValue": True}, session)["result"].get("value")
    # PHONE_SCROLL_TO=ID: the viewport with that element at its top;
    # otherwise the whole page
    at = os.environ.get("PHONE_SCROLL_TO")
    if at:
        call("Runtime.evaluate", {"expression": "document.getElementById(%s).scrollIntoView()"
                                  % json.dumps(at)}, session)
        time.sleep(0.5)
    shot = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": not at},
                session, deadline=60)
    with open(out, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    print(value)
finally:
    proc.kill()
    proc.wait()
