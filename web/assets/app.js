/* connscope dashboard: plain DOM, hand-written SVG, no dependencies.
 * Every string from the API goes in through textContent / text nodes. */
'use strict';
(() => {
  const OUTCOMES = ['completed', 'established', 'closing', 'refused', 'timeout', 'unreachable',
    'aborted', 'reset_nonexistent', 'half_open', 'attempt', 'midstream'];
  const FAILED = ['refused', 'timeout', 'unreachable', 'aborted', 'reset_nonexistent', 'half_open'];
  const TONE = { completed: 'ok', established: 'ok', refused: 'bad', aborted: 'bad',
    reset_nonexistent: 'bad', timeout: 'warn', unreachable: 'warn', half_open: 'warn' };
  const STATES = ['CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'FIN_WAIT_1',
    'FIN_WAIT_2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT'];
  const CONN_STATES = ['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH',
    'SH', 'SHR', 'OTH'];
  const OUTCOME_TEXT = {
    completed: 'Handshake seen; both sides closed with FIN (graceful).',
    established: 'Handshake seen; still open.',
    closing: 'Handshake seen; one side sent FIN, the other has not yet (half-closed).',
    refused: 'The server answered the SYN with a RST: nothing listens there (ECONNREFUSED).',
    timeout: 'The SYNs got no answer at all: no SYN-ACK, RST or ICMP (ETIMEDOUT).',
    unreachable: 'An ICMP destination-unreachable answered the SYN.',
    aborted: 'A RST ended the established connection (ECONNRESET on the other side).',
    reset_nonexistent: 'A RST answered a segment of a connection its sender no longer (or never) had.',
    half_open: 'SYN and SYN-ACK seen, but the handshake never completed.',
    attempt: 'SYN seen; too early to call it a timeout.',
    midstream: 'No handshake seen: the connection began before the capture.'
  };
  const RST_TEXT = {
    refused: 'answer to the SYN: no listener on that port (the client gets ECONNREFUSED)',
    abort: 'an established connection was aborted (SO_LINGER 0, close() with unread data, or a crashed process); the peer gets ECONNRESET',
    nonexistent: 'the sender no longer (or never) had this connection, e.g. it restarted or timed it out; the peer gets ECONNRESET',
    after_close: 'sent after both FINs: the connection had already closed (harmless)',
    invalid: 'sequence number outside the receiver\'s window: ignored by the receiver, possibly injected',
    timeout: 'sent by a side that had been retransmitting with no answer: it gave up (ETIMEDOUT)',
    unjudged: 'nothing else was seen on this 4-tuple, so no window or segment to judge it by (often backscatter: the sender answering SYNs spoofed with this address)'
  };
  const ERRNO_TEXT = {
    ECONNREFUSED: 'Connection refused', EHOSTUNREACH: 'No route to host',
    ENETUNREACH: 'Network is unreachable', EACCES: 'Permission denied',
    EPERM: 'Operation not permitted', EPROTO: 'Protocol error', EMSGSIZE: 'Message too long',
    ETIMEDOUT: 'Connection timed out', ECONNRESET: 'Connection reset by peer',
    EOPNOTSUPP: 'Operation not supported', ENOPROTOOPT: 'Protocol not available'
  };
  const ALERT_TYPE = { syn_flood: 'SYN flood', time_wait_buildup: 'TIME_WAIT buildup',
    close_wait_buildup: 'CLOSE_WAIT buildup', port_reuse: 'Port reuse', port_scan: 'Port scan',
    rst_backscatter: 'RST backscatter', accept_queue_overflow: 'Accept queue overflow' };
  const FIG_LABEL = { syns: 'SYNs', synacks: 'SYN-ACKs', rsts: 'RSTs', completed: 'completed',
    sources: 'sources ≈', peak_syn_rate: 'peak SYN/s', peak_at: 'peak at', syns_total: 'SYNs total',
    response: 'server response', time_wait: 'TIME_WAIT peak', close_wait: 'CLOSE_WAIT peak',
    entered: 'entered', new_conn_rate: 'new conn/s', ports_needed: 'ports needed',
    port_range: 'ephemeral ports', exhausted_after: 'ports run out after', age_limit: 'older than',
    count: 'count', on_client: 'on client', on_server: 'on server', example_port: 'example port',
    closer: 'closes first', ports_probed: 'ports probed', hosts_probed: 'hosts probed',
    open: 'open', refused: 'refused', silent: 'silent', kind: 'scan', rst_acks: 'RST+ACKs', peers: 'peers',
    backlog: 'backlog', queue_peak: 'queue peak', overflows: 'SYNs dropped', full_duration: 'full for' };
  const DUR_KEYS = /(^|_)(duration|after|limit|age|rtt)$|^handshake_rtt$|^rtt_/;
  const ALERT_SKIP = new Set(['type', 'target', 'host', 'peer', 'start', 'end', 'explanation']);
  const SERIES_FLAGS = [['syn', 'SYN'], ['synack', 'SYN-ACK'], ['rst', 'RST'], ['fin', 'FIN']];
  const SERIES_WAITS = [['time_wait', 'TIME_WAIT'], ['close_wait', 'CLOSE_WAIT']];

  const $ = (id) => document.getElementById(id);
  const QS = new URLSearchParams(location.search);
  const TOKEN_KEY = 'connscope-token';
  let TOKEN = QS.get('token'); // or the one typed into the token form
  try { if (TOKEN) sessionStorage.setItem(TOKEN_KEY, TOKEN); else TOKEN = sessionStorage.getItem(TOKEN_KEY); } catch (e) { /* no storage */ }
  const NO_STREAM = QS.get('stream') === '0'; // poll instead of /api/events
  const S = {
    summary: null, alerts: [], ts: null, conns: null, detail: null, detailId: null,
    filters: { outcome: '', state: '', conn_state: '', host: '', port: '' },
    sort: '-ts', offset: 0, limit: 50, finished: false, stream: null, poll: null,
    ready: { summary: false, alerts: false, timeseries: false, connections: false, look: false }
  };

  /* ---------- DOM helpers ---------- */
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    setProps(el, props);
    for (const k of kids.flat()) if (k != null && k !== false) el.append(k instanceof Node ? k : String(k));
    return el;
  }
  function setProps(el, props) {
    if (!props) return;
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.setAttribute('class', v);
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  const SVGNS = 'http://www.w3.org/2000/svg';
  function s(tag, props, ...kids) {
    const el = document.createElementNS(SVGNS, tag);
    setProps(el, props);
    for (const k of kids) if (k != null) el.append(k instanceof Node ? k : String(k));
    return el;
  }

  /* ---------- formatting ---------- */
  const nf = new Intl.NumberFormat('en-US');
  const fmtInt = (n) => (n == null || !isFinite(n) ? '—' : nf.format(n));
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  function utcParts(ts) {
    const d = new Date(ts * 1000);
    return { d, hms: pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()),
      ymd: d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) };
  }
  function fmtTime(ts, frac = 3) {
    if (ts == null) return '—';
    const p = utcParts(ts);
    if (!frac) return p.hms;
    const f = Math.floor((ts - Math.floor(ts)) * 1e6 + 0.5);
    return p.hms + '.' + pad(Math.min(f, 999999), 6).slice(0, frac);
  }
  const fmtDate = (ts) => (ts == null ? '—' : utcParts(ts).ymd + ' ' + fmtTime(ts, 6) + ' UTC');
  function fmtDur(sec) {
    if (sec == null || !isFinite(sec)) return '—';
    if (sec === 0) return '0 s';
    if (sec < 0.001) return Math.round(sec * 1e6) + ' µs';
    if (sec < 1) return (sec * 1000).toPrecision(3).replace(/\.?0+$/, '') + ' ms';
    if (sec < 60) return sec.toFixed(sec < 10 ? 3 : 1).replace(/\.?0+$/, '') + ' s';
    if (sec < 3600) return Math.floor(sec / 60) + ' m ' + pad(Math.floor(sec % 60)) + ' s';
    return Math.floor(sec / 3600) + ' h ' + pad(Math.floor((sec % 3600) / 60)) + ' m';
  }
  function compact(n) {
    if (n >= 1e6) return +(n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + 'M';
    if (n >= 1e4) return +(n / 1e3).toFixed(n >= 1e5 ? 0 : 1) + 'k';
    return nf.format(n);
  }
  const endpoint = (a, p) => (a == null ? '—' : (String(a).includes(':') ? '[' + a + ']' : a) + (p != null ? ':' + p : ''));
  const pct = (n, t) => {
    if (!t) return '';
    const p = 100 * n / t;
    return n && p < 0.1 ? '<0.1%' : (n && p < 10 ? p.toFixed(1) : Math.round(p)) + '%';
  };
  const words = (k) => String(k).replace(/_/g, ' ');

  /* ---------- API ---------- */
  function apiUrl(path, q) {
    const u = new URL(path, location.href);
    if (q) for (const [k, v] of Object.entries(q)) if (v !== '' && v != null) u.searchParams.set(k, v);
    if (TOKEN) u.searchParams.set('token', TOKEN);
    return u.pathname + u.search;
  }
  async function getJSON(path, q) {
    const r = await fetch(apiUrl(path, q), { cache: 'no-store', credentials: 'same-origin' });
    let body = null;
    try { body = await r.json(); } catch (e) { /* not JSON */ }
    if (r.status === 401) askToken();
    if (!r.ok) {
      const err = new Error((body && typeof body.error === 'string' ? body.error : 'HTTP ' + r.status));
      err.status = r.status;
      throw err;
    }
    if (body == null) throw new Error('bad JSON from ' + path);
    return body;
  }
  function showError(msg) {
    const b = $('error');
    b.hidden = !msg;
    b.textContent = msg || '';
  }
  function markReady(part) {
    S.ready[part] = true;
    if (Object.values(S.ready).every(Boolean)) document.body.dataset.ready = 'true';
  }

  /* ---------- header, counters ---------- */
  function setCounter(id, value, sub, tone) {
    const el = $(id);
    el.dataset.value = value == null ? '' : String(Math.round(value));
    el.textContent = fmtInt(value);
    if (sub !== undefined) el.parentElement.querySelector('.c-sub').textContent = sub;
    const card = el.parentElement;
    card.classList.toggle('tone-bad', tone === 'bad');
    card.classList.toggle('tone-warn', tone === 'warn');
  }
  function setStatus(state) {
    const st = $('status');
    const label = { live: 'live', reading: 'reading', finished: 'finished', polling: 'live · polling',
      reconnecting: 'reconnecting', offline: 'no connection', connecting: 'connecting' }[state] || state;
    st.dataset.state = state;
    st.dataset.finished = S.finished ? 'true' : 'false';
    st.textContent = label;
  }
  function liveState() {
    if (S.finished) return 'finished';
    if (S.poll) return 'polling';
    return S.summary && S.summary.snapshot && S.summary.snapshot.live ? 'live' : 'reading';
  }

  function renderSummary(d) {
    const sn = d.snapshot || {}, src = d.source || {}, sm = d.summary || {}, oc = d.outcomes || {};
    $('source-name').textContent = src.name || '—';
    $('source-name').title = src.name || '';
    const meta = [src.kind === 'live' ? 'interface' : 'file'];
    if (src.linktype) meta.push(src.linktype);
    if (src.snaplen) meta.push('snaplen ' + src.snaplen);
    if (sm.first_ts != null && sm.last_ts != null) {
      meta.push(utcParts(sm.first_ts).ymd + ' ' + fmtTime(sm.first_ts, 0) + ' → ' + fmtTime(sm.last_ts, 0) +
        ' UTC (' + fmtDur(sm.last_ts - sm.first_ts) + ')');
    }
    if (d.version) meta.push('v' + d.version);
    $('source-meta').textContent = meta.join(' · ');
    const now = new Date();
    $('updated').textContent = pad(now.getHours()) + ':' + pad(now.getMinutes()) + ':' + pad(now.getSeconds());
    $('updated').title = 'snapshot ' + (sn.seq != null ? sn.seq : '?') + ', packet time ' + fmtDate(sn.ts);
    if (sn.finished) S.finished = true;
    setStatus(liveState());

    const skipped = Object.values(sm.skipped || {}).reduce((a, b) => a + (+b || 0), 0);
    // Analysed, but of no connection tracked: late packets of evicted ones, or no memory.
    const untracked = Object.values(sm.untracked || {}).reduce((a, b) => a + (+b || 0), 0);
    setCounter('packets', sm.packets, fmtInt(sm.bytes) + ' bytes' + (skipped ? ' · ' + fmtInt(skipped) + ' skipped' : '') +
      (untracked ? ' · ' + fmtInt(untracked) + ' not tracked' : ''));
    setCounter('connections', sm.connections, fmtInt(oc.completed || 0) + ' completed' +
      (sm.evicted ? ' · ' + fmtInt(sm.evicted) + ' evicted' : ''));
    // A finished file has nothing open: these are the connections the end found still tracked.
    $('open').parentElement.firstElementChild.textContent = S.finished ? 'Still tracked' : 'Open now';
    setCounter('open', sm.open, (S.finished ? 'at the end of the capture · ' : '') + (sm.peak_open != null ? 'peak ' + fmtInt(sm.peak_open) + (S.finished ? '' : ' at once') : ''));
    const failed = FAILED.reduce((a, k) => a + (+oc[k] || 0), 0);
    const worst = FAILED.filter((k) => oc[k]).sort((a, b) => oc[b] - oc[a]).slice(0, 2)
      .map((k) => words(k) + ' ' + fmtInt(oc[k])).join(' · ');
    setCounter('failed', failed, failed ? pct(failed, sm.connections) + ' of connections' : 'none', failed ? 'bad' : null);
    $('failed').parentElement.title = worst;
    setCounter('alerts-count', d.alerts || 0, alertSub(d.alerts || 0), d.alerts ? 'warn' : null);
    $('alerts-sub').title = $('alerts-sub').textContent;
    const drops = sm.capture_drops;
    setCounter('drops', drops, drops == null ? (src.kind === 'live' ? 'not reported yet' : 'not applicable (file)') : 'dropped by the kernel',
      drops ? 'bad' : null);
    renderVerdicts(d);
    renderOutcomes(oc, sm.connections || 0);
    renderStates(d.states || {});
    updateSelectCounts(oc);
  }
  function alertSub(n) {
    if (!n) return 'none raised';
    const types = [...new Set(S.alerts.map((a) => ALERT_TYPE[a.type] || words(a.type)))];
    return types.length ? types.join(', ') : 'raised';
  }

  function renderVerdicts(d) {
    const ul = $('verdicts');
    const v = Array.isArray(d.verdicts) ? d.verdicts : [];
    const failed = FAILED.some((k) => d.outcomes && d.outcomes[k]);
    ul.replaceChildren();
    if (!v.length) {
      ul.append(h('li', { class: 'none' }, (d.summary && d.summary.connections) ?
        'No verdict: nothing failed.' : 'No TCP connections seen yet.'));
      return;
    }
    const expl = new Set(S.alerts.map((a) => a.explanation));
    v.forEach((text, i) => {
      const cls = expl.has(text) || i < (d.alerts || 0) ? 'alert' : (failed || d.alerts ? 'fail' : 'ok');
      ul.append(h('li', { class: cls }, String(text)));
    });
  }

  /* ---------- outcomes and states (SVG bars, percentage widths) ---------- */
  function bar(value, max, cls) {
    const w = max ? Math.max(value ? 0.6 : 0, 100 * value / max) : 0;
    return s('svg', { class: 'bar', preserveAspectRatio: 'none', 'aria-hidden': 'true' },
      s('rect', { class: 'track', x: 0, y: 0, width: '100%', height: '100%', rx: 2 }),
      s('rect', { class: 'fill ' + cls, x: 0, y: 0, width: w.toFixed(2) + '%', height: '100%', rx: 2 }));
  }
  function renderOutcomes(oc, total) {
    const box = $('outcomes');
    const max = Math.max(0, ...OUTCOMES.map((k) => +oc[k] || 0));
    const head = h('div', { class: 'brow shead muted' }, h('span', null, 'outcome'), h('span', null, ''),
      h('span', { class: 'bnum' }, 'count'), h('span', { class: 'bpct' }, 'share'));
    box.replaceChildren(head, ...OUTCOMES.map((k) => {
      const n = +oc[k] || 0;
      const b = h('button', { type: 'button', class: 'brow' + (S.filters.outcome === k ? ' active' : '') + (n ? '' : ' zero'),
        'data-outcome': k, 'data-count': n, 'aria-pressed': S.filters.outcome === k ? 'true' : 'false',
        title: OUTCOME_TEXT[k] || '' },
      h('span', { class: 'bname' }, h('i', { class: 'dot t-' + (TONE[k] || 'neutral') }), words(k)),
      bar(n, max, 't-' + (TONE[k] || 'neutral')),
      h('span', { class: 'bnum mono' }, fmtInt(n)),
      h('span', { class: 'bpct mono muted' }, total ? pct(n, total) : ''));
      b.addEventListener('click', () => setFilter('outcome', S.filters.outcome === k ? '' : k, true));
      return b;
    }));
  }
  function renderStates(st) {
    const o = st.orig || {}, r = st.resp || {};
    const max = Math.max(0, ...STATES.map((k) => Math.max(+o[k] || 0, +r[k] || 0)));
    const head = h('div', { class: 'srow shead muted' }, h('span', null, 'state'),
      h('span', null, 'client (orig)'), h('span', null, ''), h('span', null, 'server (resp)'), h('span', null, ''));
    $('states').replaceChildren(head, ...STATES.map((k) => {
      const a = +o[k] || 0, b = +r[k] || 0;
      const row = h('button', { type: 'button', class: 'srow' + (S.filters.state === k ? ' active' : '') + (a + b ? '' : ' zero'),
        'data-state': k, 'data-orig': a, 'data-resp': b, 'aria-pressed': S.filters.state === k ? 'true' : 'false' },
      h('span', { class: 'bname mono' }, k),
      bar(a, max, 'side-orig'), h('span', { class: 'bnum mono' }, fmtInt(a)),
      bar(b, max, 'side-resp'), h('span', { class: 'bnum mono' }, fmtInt(b)));
      row.addEventListener('click', () => setFilter('state', S.filters.state === k ? '' : k, true));
      return row;
    }));
  }

  /* ---------- alerts ---------- */
  const alertKey = (a) => [a.type, a.target, a.host, a.peer, a.start].join('|');
  function figValue(k, v) {
    if (typeof v === 'number') {
      if (/(_at|^start|^end)$/.test(k) && v > 1e8) return fmtTime(v, 0) + ' UTC';
      if (DUR_KEYS.test(k)) return fmtDur(v);
      return /port$/.test(k) ? String(v) : fmtInt(v);
    }
    if (typeof v === 'string') return words(v);
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    return JSON.stringify(v);
  }
  function renderAlerts() {
    const box = $('alerts');
    if (!S.alerts.length) {
      box.replaceChildren(h('p', { class: 'none' }, 'No alerts raised: no SYN flood, port scan, RST backscatter, TIME_WAIT or CLOSE_WAIT buildup, or port reuse detected.'));
      return;
    }
    box.replaceChildren(...S.alerts.map((a) => {
      const figs = Object.keys(a).filter((k) => !ALERT_SKIP.has(k) && a[k] != null)
        .map((k) => h('span', { class: 'fig' }, h('span', { class: 'muted' }, FIG_LABEL[k] || words(k)),
          ' ', h('b', { class: 'mono' }, figValue(k, a[k]))));
      const span = a.end != null && a.start != null ? a.end - a.start : null;
      return h('article', { class: 'alert', 'data-type': String(a.type) },
        h('div', { class: 'a-head' },
          h('span', { class: 'badge t-warn' }, ALERT_TYPE[a.type] || words(a.type || 'alert')),
          h('span', { class: 'mono a-subj' }, String(a.target || a.host || ''), a.peer ? ' → ' + a.peer : ''),
          h('span', { class: 'muted a-time mono' }, fmtTime(a.start, 0) + ' → ' + fmtTime(a.end, 0) + ' UTC' +
            (span != null ? ' (' + fmtDur(span) + ')' : ''))),
        a.explanation ? h('p', { class: 'a-text' }, String(a.explanation)) : null,
        figs.length ? h('div', { class: 'figs' }, figs) : null);
    }));
  }
  /* The host view (live only): each listener's accept queue against its
     backlog, and the kernel's TCP counters that moved. */
  function renderHost(host) {
    const box = $('host');
    if (!host || typeof host !== 'object') { box.hidden = true; return; }
    box.hidden = false;
    const ls = Array.isArray(host.listeners) ? host.listeners : [];
    const rows = ls.map((l) => {
      const cap = (Number(l.backlog) || 0) + 1;
      const pct = Math.min(100, Math.round(100 * (Number(l.queue_peak) || 0) / cap));
      const fill = h('span', { class: 'h-fill' });
      fill.style.width = pct + '%'; // CSSOM, not a style attribute: the CSP allows it
      return h('div', { class: 'h-row' + (l.overflows > 0 ? ' h-full' : '') },
        h('span', { class: 'mono h-addr' }, String(l.addr)),
        h('span', { class: 'h-bar' }, fill),
        h('span', { class: 'muted mono' }, 'queue ' + l.queue + ' · peak ' + l.queue_peak + ' / backlog ' + l.backlog +
          (l.overflows > 0 ? ' · ' + l.overflows + ' dropped' : '')));
    });
    const moved = Object.entries(host.counters || {}).filter(([, v]) => v > 0)
      .map(([k, v]) => h('span', { class: 'fig' }, h('span', { class: 'muted' }, k), ' ', h('b', { class: 'mono' }, '+' + v)));
    box.replaceChildren(h('h3', null, 'Host ', h('span', { class: 'hint' }, 'the kernel of this namespace')),
      rows.length ? rows : h('p', { class: 'none' }, 'No listening sockets.'),
      moved.length ? h('div', { class: 'figs' }, moved) : h('p', { class: 'none' }, 'No TCP counter moved.'));
  }
  async function loadHost() { const d = await getJSON('/api/host'); renderHost(d && d.host); }
  function addAlert(a) {
    if (!a || typeof a !== 'object') return;
    const k = alertKey(a);
    const i = S.alerts.findIndex((x) => alertKey(x) === k);
    if (i >= 0) S.alerts[i] = a; else S.alerts.push(a);
    renderAlerts();
    if (S.summary) $('alerts-sub').textContent = alertSub(S.summary.alerts || S.alerts.length);
  }

  /* ---------- time-series charts ---------- */
  const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  function niceStep(raw) {
    if (raw <= 1) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }
  function drawChart(el, data, defs, unit) {
    const W = Math.max(260, Math.floor(el.clientWidth || 500)), H = 210;
    const m = { l: 46, r: 14, t: 10, b: 26 }, pw = W - m.l - m.r, ph = H - m.t - m.b;
    const series = (data && data.series) || {};
    const n = Math.max(0, ...defs.map(([k]) => (Array.isArray(series[k]) ? series[k].length : 0)));
    const step = (data && +data.interval) || 1, t0 = data ? +data.start || 0 : 0;
    const val = (k, i) => (Array.isArray(series[k]) ? +series[k][i] || 0 : 0);
    const svg = s('svg', { class: 'chart-svg', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img',
      'aria-label': defs.map((d) => d[1]).join(', ') + ' ' + unit });
    const legend = h('div', { class: 'legend' });
    const readout = h('span', { class: 'readout muted mono' });
    const vals = {};
    for (const [k, label] of defs) {
      vals[k] = h('b', { class: 'mono' });
      legend.append(h('span', { class: 'lg' }, h('i', { class: 'sw s-' + k }), label, ' ', vals[k]));
    }
    legend.append(readout);
    const showPeaks = () => {
      for (const [k] of defs) {
        let mx = 0;
        for (let i = 0; i < n; i++) mx = Math.max(mx, val(k, i));
        vals[k].textContent = fmtInt(mx);
      }
      readout.textContent = n ? 'max over ' + fmtDur(n * step) : '';
    };
    showPeaks();
    el.replaceChildren(legend, svg);
    svg.append(s('line', { class: 'axis-line', x1: m.l, x2: m.l + pw, y1: m.t + ph, y2: m.t + ph }));
    if (!n) {
      svg.append(s('text', { class: 'nodata', x: m.l + pw / 2, y: m.t + ph / 2, 'text-anchor': 'middle' }, 'no data yet'));
      return;
    }
    let maxV = 0;
    for (const [k] of defs) for (let i = 0; i < n; i++) maxV = Math.max(maxV, val(k, i));
    const ys = niceStep(Math.max(1, maxV) / 4), yMax = Math.max(ys, Math.ceil(maxV / ys) * ys);
    const X = (i) => m.l + (n === 1 ? pw / 2 : (i * pw) / (n - 1));
    const Y = (v) => m.t + ph - (v / yMax) * ph;
    for (let v = 0; v <= yMax + 1e-9; v += ys) {
      svg.append(s('line', { class: v ? 'grid' : 'axis-line', x1: m.l, x2: m.l + pw, y1: Y(v), y2: Y(v) }));
      svg.append(s('text', { class: 'tick', x: m.l - 6, y: Y(v) + 4, 'text-anchor': 'end' }, compact(v)));
    }
    const span = (n - 1) * step, maxTicks = Math.max(2, Math.floor(pw / 84));
    const ts = STEPS.find((x) => x >= step && span / x <= maxTicks) || 86400 * Math.ceil(span / maxTicks / 86400);
    const first = Math.ceil(t0 / ts) * ts;
    for (let t = n === 1 ? t0 : first; t <= t0 + span + 1e-9; t += ts) {
      const x = n === 1 ? X(0) : m.l + ((t - t0) / span) * pw;
      svg.append(s('line', { class: 'xtick', x1: x, x2: x, y1: m.t + ph, y2: m.t + ph + 4 }));
      const anchor = x > W - 34 ? 'end' : x < m.l + 10 && n > 1 ? 'start' : 'middle';
      svg.append(s('text', { class: 'tick', x: anchor === 'end' ? Math.min(x + 4, W - 2) : x, y: H - 8, 'text-anchor': anchor }, fmtTime(t, 0).slice(0, ts >= 60 ? 5 : 8)));
      if (n === 1) break;
    }
    defs.forEach(([k], j) => {
      if (n === 1) { // one second: a bar per series
        const v = val(k, 0), bx = X(0) + (j - (defs.length - 1) / 2) * 14 - 5;
        svg.append(s('rect', { class: 'pt s-' + k, x: bx, y: Y(v), width: 10, height: Math.max(v ? 1 : 0, Y(0) - Y(v)) }));
        return;
      }
      if (n <= 40) for (let i = 0; i < n; i++) svg.append(s('circle', { class: 'pt s-' + k, cx: X(i), cy: Y(val(k, i)), r: 2.5 }));
      {
        const pts = [];
        for (let i = 0; i < n; i++) pts.push(X(i).toFixed(1) + ',' + Y(val(k, i)).toFixed(1));
        svg.append(s('polyline', { class: 'ln s-' + k, points: pts.join(' ') }));
      }
    });
    const cursor = s('line', { class: 'cursor', x1: 0, x2: 0, y1: m.t, y2: m.t + ph, visibility: 'hidden' });
    const hit = s('rect', { class: 'hit', x: m.l, y: m.t, width: pw, height: ph });
    svg.append(cursor, hit);
    const hover = (i) => {
      el.dataset.hover = i;
      cursor.setAttribute('x1', X(i)); cursor.setAttribute('x2', X(i)); cursor.setAttribute('visibility', 'visible');
      for (const [k] of defs) vals[k].textContent = fmtInt(val(k, i));
      readout.textContent = fmtTime(t0 + i * step, 0) + ' UTC';
    };
    hit.addEventListener('mousemove', (ev) => {
      const r = svg.getBoundingClientRect();
      hover(n === 1 ? 0 : Math.max(0, Math.min(n - 1, Math.round(((ev.clientX - r.left - m.l) / pw) * (n - 1)))));
    });
    hit.addEventListener('mouseleave', () => { delete el.dataset.hover; cursor.setAttribute('visibility', 'hidden'); showPeaks(); });
    if (el.dataset.hover != null && +el.dataset.hover < n && hit.matches(':hover')) hover(+el.dataset.hover);
  }
  function renderCharts() {
    drawChart($('chart-flags'), S.ts, SERIES_FLAGS, 'segments per second');
    drawChart($('chart-waits'), S.ts, SERIES_WAITS, 'endpoints');
  }

  /* ---------- connection table ---------- */
  let connReq = 0;
  async function loadConnections() {
    const my = ++connReq;
    const q = { limit: S.limit, offset: S.offset, sort: S.sort };
    for (const [k, v] of Object.entries(S.filters)) if (v) q[k] = v;
    writeHash();
    updateExports();
    try {
      const d = await getJSON('/api/connections', q);
      if (my !== connReq) return;
      if (Array.isArray(d.items) && !d.items.length && d.total > 0 && S.offset > 0) {
        S.offset = Math.max(0, Math.floor((d.total - 1) / S.limit) * S.limit);
        return loadConnections();
      }
      S.conns = d;
      renderConnections();
      markReady('connections');
    } catch (e) {
      if (my !== connReq) return;
      S.conns = null;
      $('conn-table').tBodies[0].replaceChildren();
      const em = $('conn-empty');
      em.hidden = false;
      em.className = 'empty error';
      em.textContent = 'Cannot list connections: ' + e.message;
      $('page-info').textContent = '';
    }
  }
  function renderConnections() {
    const d = S.conns, items = Array.isArray(d.items) ? d.items : [];
    const tb = $('conn-table').tBodies[0];
    tb.replaceChildren(...items.map((c) => {
      const tone = TONE[c.outcome] || 'neutral';
      const bytes = (+c.orig_bytes || 0) + (+c.resp_bytes || 0), pk = (+c.orig_pkts || 0) + (+c.resp_pkts || 0);
      const tr = h('tr', { 'data-id': c.id, tabindex: 0, class: S.detailId === c.id ? 'sel' : null },
        h('td', { class: 'num mono muted' }, String(c.id)),
        h('td', { class: 'mono', title: fmtDate(c.ts) }, fmtTime(c.ts, 3)),
        h('td', { class: 'mono addr' }, endpoint(c.orig_h, c.orig_p)),
        h('td', { class: 'mono addr' }, endpoint(c.resp_h, c.resp_p)),
        h('td', null, h('span', { class: 'badge t-' + tone }, words(c.outcome || '?')),
          c.open && !S.finished ? h('span', { class: 'open-tag', title: 'still tracked: outcome so far' }, 'open') : null),
        h('td', { class: 'mono' }, String(c.conn_state || '')),
        h('td', { class: 'mono' }, String(c.history || '')),
        h('td', { class: 'mono small' }, String(c.orig_state || '?'), h('span', { class: 'muted' }, ' / '), String(c.resp_state || '?')),
        h('td', { class: 'num mono' }, fmtDur(c.duration)),
        h('td', { class: 'num mono', title: fmtInt(c.orig_pkts) + ' orig / ' + fmtInt(c.resp_pkts) + ' resp' }, fmtInt(pk)),
        h('td', { class: 'num mono', title: fmtInt(c.orig_bytes) + ' orig / ' + fmtInt(c.resp_bytes) + ' resp (payload)' }, fmtInt(bytes)));
      tr.addEventListener('click', () => openDetail(c.id));
      tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); openDetail(c.id); } });
      return tr;
    }));
    const em = $('conn-empty');
    em.className = 'empty';
    em.hidden = items.length > 0;
    em.textContent = Object.values(S.filters).some(Boolean) ? 'No connections match these filters.' : 'No connections yet.';
    $('set-info').textContent = setText(d.set);
    const total = +d.total || 0, off = +d.offset || 0;
    $('page-info').textContent = items.length ? fmtInt(off + 1) + '–' + fmtInt(off + items.length) + ' of ' + fmtInt(total) : '0 of ' + fmtInt(total);
    $('prev').disabled = off <= 0;
    $('next').disabled = off + items.length >= total;
    for (const th of document.querySelectorAll('#conn-table th[data-sort]')) {
      const k = th.dataset.sort;
      const dir = S.sort === k ? 'ascending' : S.sort === '-' + k ? 'descending' : null;
      if (dir) th.setAttribute('aria-sort', dir); else th.removeAttribute('aria-sort');
    }
  }
  function setFilter(name, value, scroll) {
    S.filters[name] = value;
    const sel = { outcome: 'f-outcome', state: 'f-state', conn_state: 'f-conn-state', host: 'f-host', port: 'f-port' }[name];
    if ($(sel).value !== value) $(sel).value = value;
    S.offset = 0;
    if (S.summary) { renderOutcomes(S.summary.outcomes || {}, (S.summary.summary || {}).connections || 0); renderStates(S.summary.states || {}); }
    loadConnections();
    if (scroll) {
      const r = $('conn-card').getBoundingClientRect();
      if (r.top > window.innerHeight - 120 || r.top < 0) $('conn-card').scrollIntoView({ behavior: 'smooth', block: 'start' });
    }
  }
  function updateSelectCounts(oc) {
    for (const opt of $('f-outcome').options) {
      if (opt.value) opt.textContent = words(opt.value) + ' (' + fmtInt(+oc[opt.value] || 0) + ')';
    }
    const cs = (S.summary && S.summary.conn_states) || {};
    for (const opt of $('f-conn-state').options) {
      if (opt.value && cs[opt.value] != null) opt.textContent = opt.value + ' (' + fmtInt(+cs[opt.value] || 0) + ')';
    }
  }
  function wireTable() {
    for (const [id, list] of [['f-outcome', OUTCOMES], ['f-state', STATES], ['f-conn-state', CONN_STATES]]) {
      for (const v of list) $(id).append(h('option', { value: v }, id === 'f-outcome' ? words(v) : v));
    }
    $('f-outcome').addEventListener('change', (e) => setFilter('outcome', e.target.value));
    $('f-state').addEventListener('change', (e) => setFilter('state', e.target.value));
    $('f-conn-state').addEventListener('change', (e) => setFilter('conn_state', e.target.value));
    let timer = null;
    const typed = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const host = $('f-host').value.trim(), port = $('f-port').value.trim();
        const portOk = port === '' || (/^\d{1,5}$/.test(port) && +port >= 1 && +port <= 65535);
        $('f-port').classList.toggle('invalid', !portOk);
        if (!portOk) return;
        const p = port === '' ? '' : String(+port);
        if (host === S.filters.host && p === S.filters.port) return;
        S.filters.host = host; S.filters.port = p; S.offset = 0;
        loadConnections();
      }, 350);
    };
    $('f-host').addEventListener('input', typed);
    $('f-port').addEventListener('input', typed);
    $('filters').addEventListener('submit', (e) => { e.preventDefault(); typed(); });
    $('f-clear').addEventListener('click', () => {
      for (const k of Object.keys(S.filters)) S.filters[k] = '';
      for (const id of ['f-outcome', 'f-state', 'f-conn-state', 'f-host', 'f-port']) $(id).value = '';
      $('f-port').classList.remove('invalid');
      setFilter('outcome', '');
    });
    for (const th of document.querySelectorAll('#conn-table th[data-sort]')) {
      th.querySelector('button').addEventListener('click', () => {
        const k = th.dataset.sort;
        S.sort = S.sort === '-' + k ? k : '-' + k;
        S.offset = 0;
        loadConnections();
      });
    }
    $('prev').addEventListener('click', () => { S.offset = Math.max(0, S.offset - S.limit); loadConnections(); });
    $('next').addEventListener('click', () => { S.offset += S.limit; loadConnections(); });
  }

  /* ---------- connection detail ---------- */
  async function openDetail(id) {
    S.detailId = id;
    for (const tr of $('conn-table').tBodies[0].rows) tr.classList.toggle('sel', tr.dataset.id === String(id));
    const dlg = $('detail');
    $('d-title').textContent = 'Connection ' + id;
    $('d-body').replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    if (!dlg.open) { if (dlg.showModal) dlg.showModal(); else dlg.setAttribute('open', ''); }
    writeHash();
    await loadDetail(id);
  }
  async function loadDetail(id) {
    try {
      const d = await getJSON('/api/connections/' + encodeURIComponent(id));
      if (S.detailId !== id) return;
      S.detail = d;
      renderDetail(d, null);
    } catch (e) {
      if (S.detailId !== id) return;
      if (S.detail && S.detail.connection && S.detail.connection.id === id) renderDetail(S.detail, e.status === 404 ?
        'This connection is no longer in the server\'s set; showing the last copy.' : 'Refresh failed: ' + e.message);
      else $('d-body').replaceChildren(h('p', { class: 'error' }, e.status === 404 ?
        'Connection ' + id + ' is no longer in the server\'s set.' : 'Cannot load connection ' + id + ': ' + e.message));
    }
  }
  function diagnosis(c) {
    const out = [];
    const side = (x) => (x === 'orig' ? 'the client (orig)' : x === 'resp' ? 'the server (resp)' : String(x));
    out.push([TONE[c.outcome] || 'neutral', words(c.outcome || '?') + (c.open && !S.finished ? ' (so far)' : '') + ': ' + (OUTCOME_TEXT[c.outcome] || '')]);
    if (c.rst) {
      out.push(['bad', 'RST sent by ' + side(c.rst.by) + ', cause ' + words(c.rst.cause || '?') + ': ' +
        (RST_TEXT[c.rst.cause] || 'no description for this cause') + '.']);
    }
    if (c.icmp) {
      const i = c.icmp, v6 = String(i.from || c.orig_h || '').includes(':');
      const en = i.errno ? i.errno + (ERRNO_TEXT[i.errno] ? ' (' + ERRNO_TEXT[i.errno] + ')' : '') : null;
      out.push(['warn', (v6 ? 'ICMPv6' : 'ICMP') + ' type ' + i.type + ' code ' + i.code + ': ' + (i.meaning || 'unreachable') +
        (i.from ? ', from ' + i.from : '') + (i.count > 1 ? ', ' + fmtInt(i.count) + ' times' : '') +
        (en ? '. connect() fails with ' + en + '.' : '.')]);
    }
    if (c.diagnosis) out.push(['warn', c.diagnosis.charAt(0).toUpperCase() + c.diagnosis.slice(1) + '.']);
    if (c.close_wait) out.push(['warn', side(c.close_wait) + ' is in CLOSE_WAIT: its peer closed, and the application has not called close() yet.']);
    if (c.syn_retransmits) out.push(['warn', 'The SYN was retransmitted ' + fmtInt(c.syn_retransmits) + ' time' + (c.syn_retransmits > 1 ? 's' : '') + '.']);
    if (c.synack_retransmits) out.push(['warn', 'The SYN-ACK was retransmitted ' + fmtInt(c.synack_retransmits) + ' time' + (c.synack_retransmits > 1 ? 's' : '') + '.']);
    if (c.invalid_rsts) out.push(['bad', fmtInt(c.invalid_rsts) + ' RST(s) outside the receiver\'s window were ignored (possibly injected).']);
    if (c.out_of_window) out.push(['warn', fmtInt(c.out_of_window) + ' segment(s) outside what the receiver would accept changed nothing (capture loss, or injected).']);
    if (c.zero_windows) out.push(['warn', fmtInt(c.zero_windows) + ' zero-window advertisement(s): a receiver could not keep up.']);
    if (c.retransmits) out.push(['warn', fmtInt(c.retransmits) + ' retransmitted data segment(s).']);
    if (c.port_reuse) out.push(['warn', 'A new SYN reused this 4-tuple while it was still in TIME_WAIT.']);
    if (c.midstream && c.outcome !== 'midstream') out.push(['neutral', 'No handshake seen: picked up midstream.']);
    if (c.evicted) out.push(['warn', 'Evicted from the flow table (' + words(c.evicted) + ') under memory pressure.']);
    if (c.tunnel) out.push(['neutral', 'Carried in a tunnel: ' + c.tunnel + '.']);
    if (c.handshake_rtt != null) out.push(['ok', 'Handshake RTT ' + fmtDur(c.handshake_rtt) + ' (SYN→SYN-ACK ' + fmtDur(c.rtt_syn_synack) +
      ', SYN-ACK→ACK ' + fmtDur(c.rtt_synack_ack) + ').']);
    return out;
  }
  function fieldValue(k, v) {
    if (v == null) return '—';
    if (k === 'ts') return fmtDate(v);
    if (typeof v === 'number' && /(_p|port|^id)$/.test(k)) return String(v);
    if (typeof v === 'number') return DUR_KEYS.test(k) ? fmtDur(v) + (v ? ' (' + v + ' s)' : '') : fmtInt(v);
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v === 'object') return Object.entries(v).map(([a, b]) => a + '=' + (b == null ? '—' : b)).join(', ');
    return String(v);
  }
  function renderDetail(d, note) {
    const c = d.connection || {};
    $('d-title').textContent = 'Connection ' + c.id;
    const body = [];
    body.push(h('div', { class: 'd-ends mono' }, endpoint(c.orig_h, c.orig_p), h('span', { class: 'muted' }, ' → '),
      endpoint(c.resp_h, c.resp_p), ' ', h('span', { class: 'badge t-' + (TONE[c.outcome] || 'neutral') }, words(c.outcome || '?')),
      c.open && !S.finished ? h('span', { class: 'open-tag' }, 'open') : null));
    if (note) body.push(h('p', { class: 'error' }, note));
    body.push(h('ul', { class: 'diag' }, diagnosis(c).map(([t, x]) => h('li', { class: 'd-' + t }, x))));
    body.push(captureFilters(c));
    if (c.compact) body.push(h('p', { class: 'muted' }, 'Kept in compact form (an older connection of a large capture): the JSON report and the conn.log have every field.'));
    const dl = h('dl', { class: 'fields' });
    for (const [k, v] of Object.entries(c)) {
      dl.append(h('div', null, h('dt', null, k), h('dd', { class: 'mono' }, fieldValue(k, v))));
    }
    body.push(h('details', { class: 'd-fields', open: true }, h('summary', null, 'All fields'), dl));
    const ev = Array.isArray(d.events) ? d.events : [];
    body.push(h('h3', null, 'Timeline', h('span', { class: 'muted hint' }, ev.length ?
      ' ' + timelineCount(d, ev.length) + ' · first ' + fmtDate(ev[0].ts) + ' · relative seq/ack' : '')));
    if (!ev.length) body.push(h('p', { class: 'muted' }, 'No events recorded.'));
    else {
      const t0 = +ev[0].ts, isn = {};
      for (const e of ev) { // relative sequence numbers, as tcpdump prints them
        if (isn[e.from] == null && e.seq != null) isn[e.from] = +e.seq;
        const o = e.from === 'orig' ? 'resp' : 'orig';
        if (isn[o] == null && /\./.test(e.flags || '') && e.ack) isn[o] = +e.ack - 1;
      }
      const rel = (v, side) => (v == null ? '' : isn[side] == null ? String(v) : String((+v - isn[side]) >>> 0));
      let prev = null;
      const rows = ev.map((e) => {
        const dt = +e.ts - t0;
        const fl = String(e.flags || '');
        const ftone = /R/.test(fl) ? 'bad' : /F/.test(fl) ? 'warn' : /S/.test(fl) ? 'ok' : '';
        const so = prev && prev.orig_state !== e.orig_state, sr = prev && prev.resp_state !== e.resp_state;
        prev = e;
        return h('tr', { class: 'from-' + e.from },
          h('td', { class: 'num mono' }, '+' + (dt < 1 ? (dt * 1000).toFixed(3) + ' ms' : dt.toFixed(3) + ' s')),
          h('td', { class: 'mono dir' }, e.from === 'resp' ? 'orig ← resp' : 'orig → resp'),
          h('td', { class: 'mono flags' + (ftone ? ' f-' + ftone : '') }, fl),
          h('td', { class: 'num mono', title: e.seq == null ? null : 'absolute ' + e.seq }, rel(e.seq, e.from)),
          h('td', { class: 'num mono', title: e.ack == null ? null : 'absolute ' + e.ack },
            /\./.test(fl) ? rel(e.ack, e.from === 'orig' ? 'resp' : 'orig') : ''),
          h('td', { class: 'num mono' }, e.len == null ? '' : String(e.len)),
          h('td', { class: 'mono' + (so ? ' chg' : '') }, String(e.orig_state || '')),
          h('td', { class: 'mono' + (sr ? ' chg' : '') }, String(e.resp_state || '')));
      });
      body.push(h('div', { class: 'table-wrap' }, h('table', { class: 'timeline' },
        h('thead', null, h('tr', null, ['time', 'direction', 'flags', 'seq', 'ack', 'len', 'orig state', 'resp state']
          .map((x, i) => h('th', { class: i === 0 || (i >= 3 && i <= 5) ? 'num' : null }, x)))),
        h('tbody', null, rows))));
    }
    $('d-body').replaceChildren(...body);
  }
  function wireDialog() {
    const dlg = $('detail');
    $('d-close').addEventListener('click', () => dlg.close());
    dlg.addEventListener('click', (e) => { if (e.target === dlg) dlg.close(); });
    dlg.addEventListener('close', () => {
      S.detailId = null; S.detail = null;
      writeHash();
      for (const tr of $('conn-table').tBodies[0].rows) tr.classList.remove('sel');
    });
  }

  /* ---------- loading, live updates ---------- */
  function applySummary(d) {
    if (!d || typeof d !== 'object') return;
    const seq = d.snapshot && d.snapshot.seq;
    if (S.summary && S.summary.snapshot && seq != null && seq < S.summary.snapshot.seq) return;
    const changed = !S.summary || !S.summary.snapshot || seq !== S.summary.snapshot.seq;
    S.summary = d;
    renderSummary(d);
    markReady('summary');
    if (d.snapshot && d.snapshot.finished) finish();
    return changed;
  }
  async function loadSummary() { return applySummary(await getJSON('/api/summary')); }
  async function loadAlerts() {
    const d = await getJSON('/api/alerts');
    S.alerts = Array.isArray(d.alerts) ? d.alerts : [];
    renderAlerts();
    if (S.summary) { $('alerts-sub').textContent = alertSub(S.summary.alerts || 0); renderVerdicts(S.summary); }
    markReady('alerts');
  }
  async function loadTimeseries() {
    S.ts = await getJSON('/api/timeseries');
    renderCharts();
    markReady('timeseries');
  }

  // Charts, alerts and the table refresh at most once a second.
  let refreshTimer = null, refreshing = false, again = false, lastRefresh = 0;
  function scheduleRefresh() {
    if (refreshing) { again = true; return; }
    if (refreshTimer) return;
    refreshTimer = setTimeout(runRefresh, Math.max(0, lastRefresh + 1000 - Date.now()));
  }
  async function runRefresh() {
    refreshTimer = null; refreshing = true; lastRefresh = Date.now();
    const jobs = [loadAlerts(), loadTimeseries(), loadConnections(), loadLook(), loadHost()];
    if (S.finished && !(S.summary && S.summary.snapshot && S.summary.snapshot.finished)) jobs.push(loadSummary());
    if (S.detailId != null && S.detail && S.detail.connection && S.detail.connection.open) jobs.push(loadDetail(S.detailId));
    const res = await Promise.allSettled(jobs);
    const bad = res.find((r) => r.status === 'rejected');
    showError(bad ? 'Update failed: ' + bad.reason.message : '');
    refreshing = false;
    if (again) { again = false; scheduleRefresh(); }
  }

  function finish() {
    if (S.finished && !S.stream && !S.poll) { setStatus('finished'); return; }
    S.finished = true;
    if (S.stream) { S.stream.close(); S.stream = null; }
    if (S.poll) { clearInterval(S.poll); S.poll = null; }
    setStatus('finished');
    scheduleRefresh();
  }
  function parse(data) { try { return JSON.parse(data); } catch (e) { return null; } }
  function startStream() {
    if (S.finished || S.stream || S.poll) return;
    if (typeof EventSource !== 'function') { startPolling(); return; }
    let opened = false, errors = 0;
    const es = new EventSource(apiUrl('/api/events'));
    S.stream = es;
    es.addEventListener('open', () => { opened = true; errors = 0; showError(''); setStatus(liveState()); });
    es.addEventListener('summary', (e) => { if (applySummary(parse(e.data))) scheduleRefresh(); });
    es.addEventListener('alert', (e) => addAlert(parse(e.data)));
    es.addEventListener('finished', () => finish());
    es.addEventListener('error', () => {
      if (S.stream !== es) return;
      errors++;
      if (es.readyState === 2 || !opened || errors >= 3) {
        es.close(); S.stream = null;
        startPolling();
      } else setStatus('reconnecting');
    });
  }
  function startPolling() {
    if (S.finished || S.poll) return;
    const tick = async () => {
      try {
        if (await loadSummary()) scheduleRefresh();
        else if (!S.ready.alerts || !S.ready.timeseries || !S.ready.connections) scheduleRefresh();
        showError('');
        setStatus(liveState());
      } catch (e) {
        showError('Cannot reach the connscope API: ' + e.message);
        setStatus('offline');
      }
    };
    S.poll = setInterval(tick, 2000);
    setStatus(liveState());
  }


  /* ---------- the URL: filters, sort, page and the open connection ---------- */
  const HASH_KEYS = ['outcome', 'state', 'conn_state', 'host', 'port'];
  const FILTER_INPUT = { outcome: 'f-outcome', state: 'f-state', conn_state: 'f-conn-state', host: 'f-host', port: 'f-port' };
  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    for (const k of HASH_KEYS) S.filters[k] = p.get(k) || '';
    if (/^-?(ts|duration|bytes|pkts)$/.test(p.get('sort') || '')) S.sort = p.get('sort');
    const off = Number(p.get('offset'));
    if (Number.isInteger(off) && off > 0) S.offset = off;
    const c = p.get('conn');
    return c && /^\d+$/.test(c) ? +c : null;
  }
  function writeHash() {
    const p = new URLSearchParams();
    for (const k of HASH_KEYS) if (S.filters[k]) p.set(k, S.filters[k]);
    if (S.sort !== '-ts') p.set('sort', S.sort);
    if (S.offset) p.set('offset', S.offset);
    if (S.detailId != null) p.set('conn', S.detailId);
    const hs = p.toString(), base = location.pathname + location.search;
    if (base + (hs ? '#' + hs : '') !== base + location.hash) history.replaceState(null, '', base + (hs ? '#' + hs : ''));
  }
  function syncFilterInputs() {
    for (const [k, id] of Object.entries(FILTER_INPUT)) if ($(id).value !== S.filters[k]) $(id).value = S.filters[k];
  }
  function setFilters(f, scroll) {
    Object.assign(S.filters, f);
    syncFilterInputs();
    setFilter('outcome', S.filters.outcome, scroll);
  }
  function updateExports() {
    const q = {};
    for (const [k, v] of Object.entries(S.filters)) if (v) q[k] = v;
    $('export-csv').href = apiUrl('/api/connections.csv', q);
    $('export-jsonl').href = apiUrl('/api/connections.jsonl', q);
  }
  function setText(set) {
    if (!set || typeof set !== 'object') return '';
    const n = +set.connections || 0, of = +set.of || 0;
    let t = set.kind === 'recent' ? (n < of ? 'the table holds the ' + fmtInt(n) + ' most recent of ' + fmtInt(of) + ' connections' : 'all ' + fmtInt(of) + ' connections')
      : n < of ? fmtInt(n) + ' of ' + fmtInt(of) + ' connections so far (the file is being read)' : 'all ' + fmtInt(of) + ' connections';
    if (+set.not_kept) t += ' · ' + fmtInt(set.not_kept) + ' could not be kept';
    return t;
  }

  /* ---------- where to look first ---------- */
  let lookAt = 0, lookFinal = false;
  async function loadLook(force) {
    const last = S.finished && !lookFinal;
    if (!force && !last && Date.now() - lookAt < 5000) return;
    lookAt = Date.now();
    if (S.finished) lookFinal = true;
    const d = await getJSON('/api/top');
    renderLook($('look-servers'), d.servers, true);
    renderLook($('look-clients'), d.clients, false);
    markReady('look');
  }
  function renderLook(ol, list, server) {
    const items = Array.isArray(list) ? list : [];
    if (!items.length) { ol.replaceChildren(h('li', { class: 'none' }, 'No failed connections.')); return; }
    ol.replaceChildren(...items.map((x) => {
      const b = h('button', { type: 'button', class: 'look-row', 'data-host': x.host, 'data-port': server ? x.port : null,
        title: 'Show these connections in the table' },
      h('span', { class: 'mono addr' }, endpoint(x.host, server ? x.port : null)),
      h('span', { class: 'badge t-' + (TONE[x.outcome] || 'neutral') }, words(x.outcome || '?')),
      h('span', { class: 'mono bnum' }, fmtInt(x.failed) + ' failed'));
      b.addEventListener('click', () => setFilters({ host: String(x.host), port: server ? String(x.port) : '', outcome: '' }, true));
      return h('li', null, b);
    }));
  }
  // A verdict or an alert names a server ("refused by 10.0.0.2:8090", an
  // alert's target): a click filters the table to its connections.
  const ADDR_PORT = /\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?|\b(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?/;
  function filterFromText(text, withOutcome) {
    const m = ADDR_PORT.exec(String(text || ''));
    if (!m) return false;
    const f = { host: m[1] || m[3], port: m[2] || m[4] || '', outcome: '' };
    if (withOutcome) for (const k of FAILED) if (String(text).includes(words(k))) { f.outcome = k; break; }
    setFilters(f, true);
    return true;
  }
  function wireLookFirst() {
    $('verdicts').addEventListener('click', (e) => {
      const li = e.target.closest('li');
      if (li) filterFromText(li.textContent, true);
    });
    $('alerts').addEventListener('click', (e) => {
      const a = e.target.closest('article');
      if (!a) return;
      const subj = a.querySelector('.a-subj');
      if (!filterFromText(subj && subj.textContent, false)) filterFromText(a.textContent, false);
    });
  }

  /* ---------- one connection: capture filters, timeline count ---------- */
  function captureFilters(c) {
    const v6 = String(c.orig_h).includes(':');
    const bpf = 'tcp and host ' + c.orig_h + ' and host ' + c.resp_h + ' and port ' + c.orig_p + ' and port ' + c.resp_p;
    const ip = v6 ? 'ipv6.addr' : 'ip.addr';
    const ws = ip + ' == ' + c.orig_h + ' && ' + ip + ' == ' + c.resp_h + ' && tcp.port == ' + c.orig_p + ' && tcp.port == ' + c.resp_p;
    const line = (label, text, id) => h('div', { class: 'cf-line' }, h('span', { class: 'muted' }, label),
      h('code', { id: id, class: 'mono' }, text),
      h('button', { type: 'button', class: 'btn copy', 'data-copy': id }, 'Copy'));
    const box = h('div', { class: 'capture-filters' }, line('tcpdump', bpf, 'cf-bpf'), line('Wireshark', ws, 'cf-ws'));
    for (const b of box.querySelectorAll('button.copy')) {
      b.addEventListener('click', async () => {
        const text = box.querySelector('#' + b.dataset.copy).textContent;
        try { await navigator.clipboard.writeText(text); b.textContent = 'Copied'; } catch (e) {
          const r = document.createRange(); r.selectNodeContents(box.querySelector('#' + b.dataset.copy));
          const sel = getSelection(); sel.removeAllRanges(); sel.addRange(r); b.textContent = 'Selected';
        }
      });
    }
    return box;
  }
  function timelineCount(d, shown) {
    const total = +d.events_total || shown;
    if (total > shown) return 'first ' + fmtInt(shown) + ' of ' + fmtInt(total) + ' events';
    return (d.events_complete === false ? 'the last ' : 'all ') + fmtInt(shown) + ' event' + (shown === 1 ? '' : 's') +
      (d.events_complete === false ? ' still held (older ones were dropped)' : '');
  }

  /* ---------- the token ---------- */
  function askToken() {
    const f = $('token-form');
    if (!f.hidden) return;
    f.hidden = false;
    showError('');
    $('token-note').textContent = TOKEN ? 'That token was refused; kept in this tab only (session storage).' : 'Kept in this tab only (session storage).';
    $('token-input').focus();
    setStatus('offline');
  }
  function wireTokenForm() {
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const t = $('token-input').value.trim();
      if (!t) return;
      try { sessionStorage.setItem(TOKEN_KEY, t); } catch (err) { /* no storage: the query carries it */ }
      const u = new URL(location.href);
      u.searchParams.delete('token');
      try { if (sessionStorage.getItem(TOKEN_KEY) !== t) u.searchParams.set('token', t); } catch (err) { u.searchParams.set('token', t); }
      location.replace(u.pathname + u.search + u.hash);
      if (u.pathname + u.search + u.hash === location.pathname + location.search + location.hash) location.reload();
    });
  }

  /* ---------- theme ---------- */
  function wireTheme() {
    const root = document.documentElement, btn = $('theme-toggle');
    const mq = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
    try { const t = localStorage.getItem('connscope-theme'); if (t === 'dark' || t === 'light') root.dataset.theme = t; } catch (e) { /* no storage */ }
    const effective = () => root.dataset.theme || (mq && mq.matches ? 'dark' : 'light');
    const label = () => {
      const next = effective() === 'dark' ? 'light' : 'dark';
      btn.textContent = next === 'dark' ? '☾ Dark' : '☀ Light';
      btn.title = 'Switch to the ' + next + ' theme';
    };
    btn.addEventListener('click', () => {
      const next = effective() === 'dark' ? 'light' : 'dark';
      root.dataset.theme = next;
      try { localStorage.setItem('connscope-theme', next); } catch (e) { /* no storage */ }
      label();
    });
    if (mq && mq.addEventListener) mq.addEventListener('change', label);
    label();
  }

  async function init() {
    wireTheme();
    wireTable();
    wireDialog();
    wireLookFirst();
    wireTokenForm();
    const conn = readHash();
    syncFilterInputs();
    setStatus('connecting');
    let rt = null;
    window.addEventListener('resize', () => { clearTimeout(rt); rt = setTimeout(() => { if (S.ts) renderCharts(); }, 150); });
    const res = await Promise.allSettled([loadSummary(), loadAlerts(), loadTimeseries(), loadConnections(), loadLook(true)]);
    const bad = res.find((r) => r.status === 'rejected');
    if (bad && bad.reason.status === 401) return; // the token form asks
    if (bad) showError('Cannot load from the connscope API: ' + bad.reason.message);
    if (conn != null) openDetail(conn);
    if (!S.finished) {
      if (res[0].status === 'fulfilled' && !NO_STREAM) startStream(); else startPolling();
    }
  }
  init();
})();
