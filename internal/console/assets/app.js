// regen console: plain JS, no dependencies. State arrives over
// Server-Sent Events (/api/events); lists are read from the JSON API.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const FEED_MAX = 500, FEED_SHOWN = 150;
  const TYPES = ['regeneration_started', 'regeneration_completed', 'regeneration_failed', 'deployment_started',
    'deployment_completed', 'deployment_failed', 'event_rejected', 'performance_metric', 'performance_warning',
    'performance_alert', 'scaling_advice', 'tuning_changed', 'rate_limited', 'consumer_paused', 'consumer_resumed',
    'breaker_state_changed', 'cost_report'];
  let feed = [], deploySeq = -1, dlqMsgs = -1, dlqAt = 0, deployAt = 0, feedQueued = false;
  const hidden = new Set(['regeneration_completed', 'deployment_started']);

  // el builds an element: attributes, then children (strings become text).
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  const fmt = (n, d = 0) => (n === null || n === undefined || isNaN(n)) ? '–' :
    Number(n).toLocaleString('en-US', {maximumFractionDigits: d, minimumFractionDigits: 0});
  const dur = (s) => {
    if (s === null || s === undefined) return '–';
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 120) return fmt(s, 1) + ' s';
    if (s < 7200) return fmt(s / 60, 1) + ' min';
    return fmt(s / 3600, 1) + ' h';
  };
  const time = (t) => { const d = new Date(t); return isNaN(d) ? '' : d.toLocaleTimeString('en-GB'); };
  const bytes = (b) => b >= 1 << 20 ? fmt(b / 1048576, 1) + ' MiB' : b >= 1024 ? fmt(b / 1024, 1) + ' KiB' : fmt(b) + ' B';
  // replace swaps container's children, keeping the focus on the new
  // element with the same data-key: a re-render must not throw a keyboard
  // user out.
  function replace(container, kids) {
    const a = document.activeElement, key = a && container.contains(a) ? a.dataset.key : undefined;
    container.replaceChildren(...kids);
    const n = key && container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (n) n.focus();
  }
  function fill(tbody, rows, empty, cols) {
    replace(tbody, rows.length ? rows : [el('tr', {}, el('td', {colspan: cols}, empty))]);
  }

  // token: from #token=..., the form, or this tab's storage.
  function token() { return sessionStorage.getItem('regen-token') || ''; }
  (function takeToken() {
    const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (m) { sessionStorage.setItem('regen-token', decodeURIComponent(m[1])); history.replaceState(null, '', location.pathname); }
    $('token').value = token();
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault(); sessionStorage.setItem('regen-token', $('token').value.trim()); say('Token saved for this tab.');
    });
  })();

  function say(msg, err) { const s = $('action-status'); s.textContent = msg; s.classList.toggle('err', !!err); }

  // confirmAction shows the dialog and resolves true on Confirm.
  function confirmAction(text) {
    const d = $('confirm');
    $('confirm-text').textContent = text;
    return new Promise((resolve) => {
      d.addEventListener('close', () => resolve(d.returnValue === 'ok'), {once: true});
      d.returnValue = ''; d.showModal(); $('confirm-no').focus();
    });
  }

  async function post(url, body, question) {
    if (!await confirmAction(question)) { say('Cancelled.'); return null; }
    const headers = {'Content-Type': 'application/json'};
    if (token()) headers['X-Regen-Token'] = token();
    try {
      const r = await fetch(url, {method: 'POST', headers, body: JSON.stringify(body || {})});
      const j = await r.json().catch(() => ({error: r.statusText}));
      if (!r.ok) { say(j.error || r.statusText, true); return null; }
      say(j.message || 'Done.'); return j;
    } catch (e) { say(String(e), true); return null; }
  }
  async function getJSON(url) { const r = await fetch(url); if (!r.ok) throw new Error((await r.json()).error || r.statusText); return r.json(); }

  // chart draws series (arrays of numbers, one per bucket) as polylines.
  function chart(svg, series, unit, label) {
    const W = 600, H = 160, L = 44, B = 18, T = 8;
    const all = series.flat(), top = Math.max(1, ...all);
    const n = Math.max(1, series[0].length - 1);
    const x = (i) => L + (W - L - 4) * i / n, y = (v) => T + (H - T - B) * (1 - v / top);
    const ns = 'http://www.w3.org/2000/svg', kids = [];
    const mk = (tag, a, txt) => { const e = document.createElementNS(ns, tag); for (const k in a) e.setAttribute(k, a[k]); if (txt) e.textContent = txt; return e; };
    for (const f of [0, 0.5, 1]) {
      kids.push(mk('line', {class: 'grid', x1: L, x2: W, y1: y(top * f), y2: y(top * f)}));
      kids.push(mk('text', {x: L - 4, y: y(top * f) + 4, 'text-anchor': 'end'}, fmt(top * f, top < 10 ? 1 : 0)));
    }
    kids.push(mk('text', {x: L, y: H - 3}, '−15 min'), mk('text', {x: W - 4, y: H - 3, 'text-anchor': 'end'}, 'now'));
    series.forEach((s, k) => {
      const pts = s.map((v, i) => x(i).toFixed(1) + ',' + y(v).toFixed(1)).join(' ');
      if (k === 0) kids.push(mk('polygon', {class: 'area', points: x(0) + ',' + y(0) + ' ' + pts + ' ' + x(n) + ',' + y(0)}));
      kids.push(mk('polyline', {class: 's' + k, points: pts}));
    });
    svg.replaceChildren(...kids);
    const sum = all.reduce((a, b) => a + b, 0);
    svg.dataset.total = sum.toFixed(3);
    const now = series.map((s) => fmt(s[s.length - 1], 1)).join(' / ');
    svg.setAttribute('aria-label', `${label}: latest ${now} ${unit}, peak ${fmt(top, 1)} ${unit}`);
  }

  function renderOverview(s) {
    const t = s.totals, last = s.series.slice(-12).filter((p) => p.cycles > 0);
    $('m-rate').textContent = fmt(s.rate_per_s, 1);
    $('m-window').textContent = fmt(s.window_events);
    $('m-processed').textContent = fmt(t.events_processed);
    const p50 = last.length ? last[last.length - 1].p50_ms : null, p95 = last.length ? last[last.length - 1].p95_ms : null;
    $('m-cycle').textContent = p50 === null ? '–' : fmt(p50, 1) + ' / ' + fmt(p95, 1) + ' ms';
    $('m-success').textContent = s.success_rate === undefined ? '–' : fmt(s.success_rate * 100, 1) + ' %';
    $('m-inflight').textContent = fmt(t.in_flight) + ' / ' + fmt(t.concurrency);
    $('m-backlog').textContent = fmt(s.pending) + ' · ' + (s.pending === 0 ? 'empty' : s.drain_s === undefined ? 'not draining' : dur(s.drain_s));
    $('m-dlq').textContent = s.dlq ? fmt(s.dlq.msgs) : '–';
    chart($('chart-eps'), [s.series.map((p) => p.eps)], 'events/s', 'Events per second');
    chart($('chart-cycle'), [s.series.map((p) => p.p50_ms), s.series.map((p) => p.p95_ms)], 'ms', 'Cycle time p50 / p95');
    renderLevels(s);
    $('advice').textContent = adviceText(s.advice);
    const chips = [];
    for (const [comp, states] of Object.entries(s.breakers || {}))
      for (const [st, n] of Object.entries(states)) chips.push(el('li', {class: 'st-' + st}, `${comp}: ${st} × ${n}`));
    $('breakers').replaceChildren(...(chips.length ? chips : [el('li', {}, 'no replica reports breakers')]));
    const conn = $('conn');
    const errs = Object.entries(s.errors || {}).map(([k, v]) => `${k}: ${v}`);
    conn.textContent = errs.length ? 'live, with errors: ' + errs.join('; ') : `live · ${t.replicas} replica${t.replicas === 1 ? '' : 's'}`;
    $('token-need').textContent = s.token_required ? '(required for actions)' : '(not required on loopback)';
  }

  function renderLevels(s) {
    const rows = s.levels.map((l) => {
      const p = l.priority, name = p || 'single consumer';
      const act = !p ? '' : l.paused
        ? el('button', {type: 'button', class: 'resume', 'data-key': 'level-' + p, onclick: () => post(`/api/levels/${p}/resume`, {}, `Resume priority level ${p}?`)}, 'Resume ' + p)
        : el('button', {type: 'button', class: 'pause', 'data-key': 'level-' + p, onclick: () => {
          const d = $('pause-for').value, label = $('pause-for').selectedOptions[0].textContent;
          post(`/api/levels/${p}/pause`, {for: d}, `Pause priority level ${p} on every replica ${d ? 'for ' + label : 'until resumed'}?`);
        }}, 'Pause ' + p);
      return el('tr', {'data-level': p}, el('th', {scope: 'row'}, name), el('td', {class: 'mono'}, l.consumer), el('td', {class: 'num'}, fmt(l.pending)),
        el('td', {}, l.pending === 0 ? '–' : dur(l.drain_s)),
        el('td', {}, l.paused ? 'paused' + (l.pause_until ? ' until ' + time(l.pause_until) : '') : 'running'), el('td', {}, act));
    });
    fill($('levels').tBodies[0], rows, 'no consumer found (has a replica provisioned the stream?)', 6);
  }

  function renderReplicas(s) {
    const rows = s.replicas.map((r) => {
      const le = r.last_execution;
      return el('tr', {}, el('th', {scope: 'row', class: 'mono'}, r.replica), el('td', {}, r.version), el('td', {}, dur(r.uptime_s)),
        el('td', {class: 'num'}, r.concurrency), el('td', {class: 'num'}, r.in_flight), el('td', {class: 'num'}, fmt(r.stats.events_processed)),
        el('td', {class: 'num'}, le ? fmt(le.events_per_second, 1) : '–'),
        el('td', {}, le ? `${fmt(le.duration_ms, 1)} ms, ${le.events} events` : '–'),
        el('td', {}, Object.entries(r.breakers || {}).map(([k, v]) => `${k} ${v}`).join(', ')));
    });
    fill($('replica-table').tBodies[0], rows, 'no live replica', 9);
  }

  // summary picks the key fields of a record for its feed line.
  function summary(d) {
    if (!d || typeof d !== 'object') return '';
    const keys = ['event_id', 'execution_id', 'path', 'template', 'reason', 'rule', 'error', 'component', 'from', 'to',
      'events', 'duration_ms', 'priority', 'knob', 'old', 'new', 'recommended_replicas', 'limit'];
    return keys.filter((k) => d[k] !== undefined && d[k] !== '').map((k) => `${k}=${typeof d[k] === 'number' ? fmt(d[k], 1) : d[k]}`).join(' ');
  }
  function typeClass(t) { return /failed|rejected|alert/.test(t) ? 'ty bad' : /warning|paused|rate_limited/.test(t) ? 'ty warn' : 'ty'; }

  function renderFeed() {
    feedQueued = false;
    const items = feed.filter((r) => !hidden.has(r.type)).slice(0, FEED_SHOWN).map((r) => {
      const id = r.data && r.data.event_id;
      return el('li', {}, el('span', {class: 't'}, time(r.timestamp)), el('span', {class: typeClass(r.type)}, r.type),
        el('span', {class: 'mono'}, r.replica), el('span', {class: 'mono'}, summary(r.data)),
        id ? el('button', {type: 'button', 'data-key': 'feed-' + r.id, onclick: () => showStory(id), 'aria-label': 'Story of event ' + id}, 'story') : null);
    });
    replace($('feed-list'), items.length ? items : [el('li', {}, 'nothing yet')]);
  }
  function queueFeed() { if (!feedQueued) { feedQueued = true; requestAnimationFrame(renderFeed); } }
  function renderTypes() {
    $('feed-types').replaceChildren(...TYPES.map((t) => el('label', {},
      el('input', {type: 'checkbox', value: t, checked: !hidden.has(t) ? 'checked' : null,
        onchange: (e) => { e.target.checked ? hidden.delete(t) : hidden.add(t); queueFeed(); }}), t)));
  }
  $('feed-all').addEventListener('click', () => { hidden.clear(); renderTypes(); queueFeed(); });
  $('feed-none').addEventListener('click', () => { TYPES.forEach((t) => hidden.add(t)); renderTypes(); queueFeed(); });

  async function loadDeployments() {
    deployAt = Date.now();
    try {
      const list = await getJSON('/api/deployments?limit=100&q=' + encodeURIComponent($('deploy-q').value.trim()));
      fill($('deploy-table').tBodies[0], list.map((d) => el('tr', {}, el('td', {}, time(d.at)), el('td', {class: 'mono'}, d.path),
        el('td', {}, d.template), el('td', {class: 'mono'}, d.node), el('td', {class: 'mono', title: d.hash}, (d.hash || '').slice(0, 12)),
        el('td', {class: 'num'}, d.revision), el('td', {class: 'num'}, fmt(d.duration_ms, 1) + ' ms'),
        el('td', {}, d.event_id ? el('button', {type: 'button', 'data-key': 'dep-' + d.event_id + d.path, onclick: () => showStory(d.event_id), 'aria-label': 'Story of event ' + d.event_id}, d.event_id) : ''))),
      'no deployment', 8);
    } catch (e) { say('deployments: ' + e.message, true); }
  }
  let qTimer = 0;
  $('deploy-q').addEventListener('input', () => { clearTimeout(qTimer); qTimer = setTimeout(loadDeployments, 250); });

  async function loadDLQ() {
    dlqAt = Date.now();
    try {
      const list = await getJSON('/api/dlq?limit=200');
      fill($('dlq-table').tBodies[0], list.map((d) => el('tr', {'data-id': d.id}, el('td', {class: 'num'}, d.seq),
        el('td', {class: 'mono'}, d.id), el('td', {}, d.change_type), el('td', {class: 'mono'}, d.subject), el('td', {}, d.reason),
        el('td', {class: 'wrap'}, d.error), el('td', {class: 'num'}, d.deliveries), el('td', {}, time(d.dead_at)),
        el('td', {}, d.truncated ? 'truncated' : el('button', {type: 'button', class: 'replay', 'data-key': 'dlq-' + d.seq, 'aria-label': 'Replay ' + d.id,
          onclick: async () => { if (await post('/api/dlq/replay', {id: d.id}, `Replay dead letter ${d.id}?`)) loadDLQ(); }}, 'Replay')))),
      'no dead letters', 9);
    } catch (e) { say('dead letters: ' + e.message, true); }
  }
  $('dlq-replay-all').addEventListener('click', async () => { if (await post('/api/dlq/replay', {all: true}, 'Replay every dead letter?')) loadDLQ(); });
  $('dlq-purge').addEventListener('click', async () => { if (await post('/api/dlq/purge', {}, 'Purge every dead letter? They cannot be replayed afterwards.')) loadDLQ(); });

  // traceRef is a step's trace id, a link to its trace when the console
  // has a trace URL (console_trace_url).
  function traceRef(s) {
    if (!s.trace_id) return null;
    if (!s.trace_url) return el('span', {class: 'mono trace'}, s.trace_id);
    return el('a', {class: 'mono trace', href: s.trace_url, target: '_blank', rel: 'noopener', 'aria-label': 'Trace ' + s.trace_id}, s.trace_id);
  }

  // adviceText is the last scaling_advice in words: the cluster's (from
  // the leaseholder, with its arrival forecast) or one replica's.
  function adviceText(a) {
    if (!a) return '';
    const scope = a.scope === 'cluster' ? 'cluster, from ' + a.replica : a.replica;
    let t = `Scaling advice (${scope}, ${time(a.at)}): ${a.recommended_replicas} replicas recommended of ${a.current_replicas_estimate}` +
      ` (${a.reason}${a.bound ? ', bound: ' + a.bound : ''}; pending ${fmt(a.pending)}, arrival ${fmt(a.arrival_rate, 1)}/s, drain ${fmt(a.cluster_drain_rate || a.drain_rate, 1)}/s` +
      `${a.predicted_drain_s === null || a.predicted_drain_s === undefined ? ', the backlog grows' : ', drains in ' + dur(a.predicted_drain_s)}).`;
    const f = a.forecast;
    if (f) t += ` Forecast (${f.method}): ${fmt(f.arrival_rate, 1)}/s in ${dur(f.horizon_s)}, trend ${fmt(f.trend, 2)}/s², error ${fmt(100 * f.error_ratio, 0)}% over ${f.error_samples}.`;
    return t;
  }

  async function showStory(id) {
    $('story-id').value = id; location.hash = 'story';
    $('story-summary').textContent = 'Reading the telemetry of ' + id + '…';
    try {
      const st = await getJSON('/api/story?id=' + encodeURIComponent(id));
      $('story-summary').textContent = `${st.steps.length} steps for ${id} (${fmt(st.scanned)} records read${st.truncated ? ', stopped early' : ''})` +
        (st.dead_letter ? '; it is in the dead letters now.' : '.');
      $('story-steps').replaceChildren(...st.steps.map((s) => el('li', {}, el('span', {class: 'what'}, s.what), ' ', time(s.at), ' on ',
        el('span', {class: 'mono'}, s.replica), s.execution_id ? ' · execution ' : '', s.execution_id ? el('span', {class: 'mono'}, s.execution_id) : null,
        s.trace_id ? ' · trace ' : '', traceRef(s),
        ' ', el('span', {class: 'mono'}, summary(Object.assign({}, s.detail, {event_id: undefined, execution_id: undefined}))))));
    } catch (e) { $('story-summary').textContent = 'story: ' + e.message; }
  }
  $('story-form').addEventListener('submit', (e) => { e.preventDefault(); showStory($('story-id').value.trim()); });

  function renderCost(c) {
    $('cost-none').hidden = !!c;
    if (!c) { $('cost-tables').replaceChildren(); return; }
    const tables = [];
    for (const [by, title] of [['by_cpu', 'CPU'], ['by_bytes', 'bytes deployed']])
      for (const dim of ['template', 'source', 'target']) {
        const rows = (c[by][dim] || []).map((e) => el('tr', {}, el('th', {scope: 'row', class: 'mono'}, e.name),
          el('td', {class: 'num'}, fmt(e.cpu_seconds, 3) + ' s'), el('td', {class: 'num'}, bytes(e.bytes_out)), el('td', {class: 'num'}, fmt(e.events))));
        tables.push(el('div', {class: 'scroll'}, el('table', {}, el('caption', {}, `Top ${dim}s by ${title}`),
          el('thead', {}, el('tr', {}, ...[dim, 'CPU', 'bytes out', 'events'].map((h) => el('th', {scope: 'col'}, h)))),
          el('tbody', {}, ...(rows.length ? rows : [el('tr', {}, el('td', {colspan: 4}, 'none'))])))));
      }
    $('cost-tables').replaceChildren(el('p', {}, `${c.reports} reports: ${fmt(c.total.events)} events, ${fmt(c.total.cpu_seconds, 2)} CPU s, ${bytes(c.total.bytes_out)} deployed.`), ...tables);
  }

  function onState(s) {
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    renderOverview(s); renderReplicas(s); renderCost(s.cost);
    if (s.deploy_seq !== deploySeq && Date.now() - deployAt > 1500) { deploySeq = s.deploy_seq; loadDeployments(); }
    const msgs = s.dlq ? s.dlq.msgs : 0;
    if (msgs !== dlqMsgs || Date.now() - dlqAt > 10000) { dlqMsgs = msgs; loadDLQ(); }
  }
  function addFeed(r) { feed.unshift(r); if (feed.length > FEED_MAX) feed.length = FEED_MAX; queueFeed(); }

  function connect() {
    const es = new EventSource('/api/events');
    es.addEventListener('hello', (e) => { const h = JSON.parse(e.data); feed = h.feed; onState(h.snapshot); queueFeed(); });
    es.addEventListener('state', (e) => onState(JSON.parse(e.data)));
    es.addEventListener('telemetry', (e) => addFeed(JSON.parse(e.data)));
    es.onopen = () => { $('conn').className = 'conn live'; };
    es.onerror = () => { $('conn').className = 'conn down'; $('conn').textContent = 'disconnected, reconnecting…'; };
  }
  renderTypes(); renderFeed(); connect();
})();
