// <tailsim-embed>: a tailsim lesson or scenario, live, in a blog post.
//
//   <script type="module" src="https://SITE/embed/tailsim-embed.js"></script>
//   <tailsim-embed lesson="DATA-N+1"></tailsim-embed>
//   <tailsim-embed link="#s=1.…" seed="7"></tailsim-embed>
//
// The element is a block that takes its content's height (no iframe). It
// loads the engine (tailsim_embed_bg.wasm, the `embed/` crate) when it
// first nears the screen, plays only while on screen and one at a time on
// the page, never by itself under prefers-reduced-motion, follows
// prefers-color-scheme, shows its title and links back to the sandbox in
// the same state. A lesson asks its question first; the answer is the
// simulation's, read at the end of the run. The engine runs on the page's
// thread in bounded slices of work per frame (an embed plays at a watchable
// pace: a lesson's run in about half a minute), so a heavy scenario slows
// its own clock, never the page.

import init, { Run, lessonFace } from './tailsim_embed.js';

const HERE = new URL('.', import.meta.url);
const SITE = new URL('..', HERE);
/** Engine work per animation frame (about 2 ms here). */
const WORK_PER_FRAME = 20000;
/** A run plays in about this many seconds (never slower than real time). */
const PLAY_SECONDS = 30;
const INK = { p99: '#D55E00', p95: '#E69F00', p50: '#0072B2' };

let engine = null;
function loadEngine() {
  engine ??= init({ module_or_path: new URL('tailsim_embed_bg.wasm', HERE) });
  return engine;
}

/** The embed playing now: one at a time. */
let playing = null;

const STYLE = `
:host { display: block; margin: 1.5em 0; --bg: #fff; --fg: #1a1a1a; --muted: #555; --line: #d0d0d0;
  --accent: #0072B2; --accent-fg: #fff; --bad: #a33a00; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
@media (prefers-color-scheme: dark) { :host { --bg: #16181c; --fg: #eceff4; --muted: #b4bac4; --line: #3a3f48;
  --accent: #56B4E9; --accent-fg: #0b0c0e; --bad: #ff9d6b; } }
.frame { background: var(--bg); color: var(--fg); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin: 0; }
header { display: flex; gap: 8px; align-items: baseline; justify-content: space-between; flex-wrap: wrap; }
h3 { margin: 0; font-size: 1.05em; }
a { color: var(--accent); }
p { margin: 6px 0; }
.muted { color: var(--muted); font-size: .9em; }
form { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; margin: 6px 0; }
input { width: 7em; font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
button { font: inherit; padding: 3px 10px; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); cursor: pointer; }
button.quiet { background: transparent; color: var(--accent); }
button:disabled { opacity: .5; cursor: default; }
button:focus-visible, input:focus-visible, a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.chart { position: relative; width: 100%; height: 200px; margin-top: 6px; }
canvas { display: block; width: 100%; height: 100%; }
.legend { display: flex; gap: 12px; flex-wrap: wrap; font-size: .85em; color: var(--muted); }
.legend b { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
.bar { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin-top: 6px; }
.error { color: var(--bad); }
.failed .chart, .failed .legend, .failed .bar, .failed form, .failed #pooled { display: none; }
[hidden] { display: none !important; }
`;

const HTML = `
<figure class="frame" part="frame" aria-labelledby="embed-title">
  <header><h3 id="embed-title">tailsim</h3>
    <a id="open-full" target="_blank" rel="noopener">Open in tailsim ↗</a></header>
  <form id="predict" hidden>
    <label for="predict-input" id="question"></label>
    <input id="predict-input" type="number" inputmode="decimal" step="any" min="0" aria-describedby="unit">
    <span id="unit"></span>
    <button id="predict-submit" type="submit">Run it</button>
  </form>
  <div class="chart"><canvas id="chart" role="img" aria-label="Latency percentiles over simulated time"></canvas></div>
  <div class="legend" aria-hidden="true"><span><b style="background:${INK.p99}"></b>p99</span>
    <span><b style="background:${INK.p95}"></b>p95</span><span><b style="background:${INK.p50}"></b>p50</span>
    <span id="slo-key" hidden>- - SLO</span><span id="ghost-key" hidden></span></div>
  <p id="pooled" class="muted" hidden></p>
  <div class="bar">
    <button id="play" type="button" aria-pressed="false"><span id="play-glyph" aria-hidden="true">▶</span> <span id="play-label">Play</span></button>
    <button id="flip" class="quiet" type="button" hidden></button>
    <span>t = <span id="sim-time">0.0 s</span></span>
    <span>p99 now: <b id="p99-sim">–</b></span>
  </div>
  <p id="result" aria-live="polite"></p>
  <p id="error" class="error" role="alert" hidden></p>
</figure>`;

class TailsimEmbed extends HTMLElement {
  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.root.innerHTML = `<style>${STYLE}</style>${HTML}`;
    this.$ = (id) => this.root.getElementById(id);
    this.run = null;
    this.lesson = null; // { toml, file, face }
    this.state = null; // the lesson state running
    this.answers = {}; // state -> the predicted metric at the end
    this.guess = null;
    this.guessed = false;
    this.onScreen = false;
    this.pausedByScroll = true; // may start when it comes on screen
    this.frame = 0;
  }

  static get observedAttributes() {
    return ['lesson', 'link', 'seed'];
  }

  connectedCallback() {
    if (!this.wired) {
      this.wired = true;
      this.$('play').addEventListener('click', () => this.togglePlay());
      this.$('flip').addEventListener('click', () => this.flip());
      this.$('predict').addEventListener('submit', (e) => {
        e.preventDefault();
        this.submitGuess();
      });
      this.scheme = matchMedia('(prefers-color-scheme: dark)');
      this.onScheme = () => this.draw();
    }
    // Loads when it nears the screen; plays while any of it is on screen.
    this.near = new IntersectionObserver((es) => this.near_(es), { rootMargin: '300px 0px' });
    this.near.observe(this);
    this.view = new IntersectionObserver((es) => this.seen(es), { threshold: 0 });
    this.view.observe(this);
    this.size = new ResizeObserver(() => this.draw());
    this.size.observe(this.$('chart'));
    this.scheme.addEventListener('change', this.onScheme);
  }

  /** Taken out of the page (or moved: it comes back through connectedCallback). */
  disconnectedCallback() {
    this.pause();
    this.pausedByScroll = true;
    this.near?.disconnect();
    this.view?.disconnect();
    this.size?.disconnect();
    this.scheme?.removeEventListener('change', this.onScheme);
  }

  /** A changed lesson, link or seed: load afresh (once loaded at all). */
  attributeChangedCallback(_name, old, now) {
    if (old === now || !this.loading) return;
    this.pause();
    this.reset();
    this.loading = this.load();
  }

  reset() {
    this.run?.free();
    this.run = null;
    this.lesson = null;
    this.payload = null;
    this.answers = {};
    this.guess = null;
    this.guessed = false;
    this.ghost = null;
    this.pausedByScroll = true;
    for (const id of ['predict', 'flip', 'error', 'ghost-key']) this.$(id).hidden = true;
    this.root.querySelector('.frame').classList.remove('failed');
    this.$('predict-input').disabled = false;
    this.$('predict-submit').disabled = false;
    this.say('');
  }

  /** Near the screen: load, once. */
  near_(entries) {
    if (entries[entries.length - 1].isIntersecting && !this.loading) this.loading = this.load();
  }

  /** On screen: play (if allowed); off: pause (and resume on return). */
  seen(entries) {
    this.onScreen = entries[entries.length - 1].isIntersecting;
    if (!this.onScreen && this.isPlaying()) {
      this.pause();
      this.pausedByScroll = true;
    } else if (this.onScreen) {
      this.maybeAutoplay();
    }
  }

  maybeAutoplay() {
    const calm = matchMedia('(prefers-reduced-motion: reduce)').matches;
    const waiting = this.lesson && !this.guessed;
    if (this.run && this.onScreen && this.pausedByScroll && !calm && !waiting && !this.isPlaying()) {
      this.pausedByScroll = false;
      this.play();
    }
  }

  async load() {
    try {
      await loadEngine();
      const id = this.getAttribute('lesson');
      if (id) await this.loadLesson(id);
      else await this.loadLink(this.getAttribute('link') || '');
      this.draw();
      // (Observers fire at once; a layout change may not: check now.)
      const r = this.getBoundingClientRect();
      this.onScreen = r.bottom > 0 && r.top < innerHeight;
      this.maybeAutoplay();
    } catch (err) {
      this.fail(String(err?.message ?? err));
    }
  }

  async loadLesson(id) {
    const toml = await text(new URL(`lessons/${encodeURIComponent(id)}.toml`, HERE), `lesson ${id}`);
    const face = JSON.parse(lessonFace(toml));
    const file = face.scenario_file
      ? await text(new URL(`scenarios/${face.scenario_file.split('/').map(encodeURIComponent).join('/')}`, HERE), face.scenario_file)
      : '';
    this.lesson = { toml, file, face };
    this.$('embed-title').textContent = face.title;
    this.$('open-full').href = `${SITE}?lesson=${encodeURIComponent(id)}`;
    const p = face.predict;
    if (p) {
      this.$('question').textContent = face.question;
      this.$('unit').textContent = p.unit;
      this.$('predict').hidden = false;
    } else {
      this.guessed = true;
    }
    this.start(p ? p.state : 'mistake');
  }

  async loadLink(link) {
    const hash = link.slice(link.indexOf('#') >= 0 ? link.indexOf('#') : 0);
    this.payload = await decodeLink(hash);
    this.fresh(Run.scenario(this.payload.scenario, this.seed(this.payload.seed)));
    this.$('embed-title').textContent = this.run.title();
    this.$('open-full').href = `${SITE}${hash.startsWith('#') ? hash : `#${hash}`}`;
    this.guessed = true;
  }

  /** The `seed` attribute, else `fallback` (-1: the scenario's own). */
  seed(fallback = -1) {
    const s = this.hasAttribute('seed') ? Number(this.getAttribute('seed')) : fallback;
    return Number.isSafeInteger(s) && s >= 0 ? s : -1;
  }

  /** `run` replaces the current one (built first: a failure keeps the old). */
  fresh(run) {
    this.run?.free();
    this.run = run;
    this.speed = Math.max(1, run.durationS() / PLAY_SECONDS);
    this.showTime();
    this.draw();
  }

  /** A fresh run of the lesson in `state`. */
  start(state) {
    const l = this.lesson;
    this.fresh(Run.lesson(l.toml, l.file, state, this.seed()));
    this.state = state;
  }

  submitGuess() {
    const v = this.$('predict-input').value.trim();
    const x = Number(v);
    if (v !== '' && !(Number.isFinite(x) && x >= 0)) {
      this.say('Your guess: a number, 0 or more (or leave it empty to just watch).');
      return;
    }
    this.guess = v === '' ? null : x;
    this.guessed = true;
    this.$('play').focus(); // (the focused Run button is about to be disabled)
    this.$('predict-input').disabled = true;
    this.$('predict-submit').disabled = true;
    this.say('');
    this.pausedByScroll = false;
    this.play();
  }

  isPlaying() {
    return this.timer != null;
  }

  togglePlay() {
    if (this.isPlaying()) {
      this.pause();
      return;
    }
    if (this.lesson && !this.guessed) {
      this.say('Make your prediction first (or leave it empty and press Run it).');
      this.$('predict-input').focus();
      return;
    }
    if (this.run && this.run.nowS() >= this.run.durationS()) {
      try {
        if (this.lesson) this.start(this.state);
        else this.fresh(Run.scenario(this.payload.scenario, this.seed(this.payload.seed)));
      } catch (err) {
        this.fail(String(err?.message ?? err));
        return;
      }
    }
    this.play();
  }

  play() {
    if (!this.run || this.isPlaying()) return;
    if (playing && playing !== this) playing.pause();
    playing = this;
    this.$('play').setAttribute('aria-pressed', 'true');
    this.$('play-glyph').textContent = '❚❚';
    this.$('play-label').textContent = 'Play';
    let last = performance.now();
    const tick = (now) => {
      const dt = Math.min(now - last, 100) / 1000;
      last = now;
      try {
        const done = this.run.advance(this.run.nowS() + dt * this.speed, WORK_PER_FRAME);
        this.showTime();
        if ((this.frame++ & 3) === 0 || done) this.draw();
        if (done) {
          this.pause();
          this.finished();
          return;
        }
      } catch (err) {
        this.pause();
        this.fail(String(err?.message ?? err));
        return;
      }
      this.timer = requestAnimationFrame(tick);
    };
    this.timer = requestAnimationFrame(tick);
  }

  pause() {
    if (this.timer != null) cancelAnimationFrame(this.timer);
    this.timer = null;
    if (playing === this) playing = null;
    this.$('play').setAttribute('aria-pressed', 'false');
    const ended = this.run && this.run.nowS() >= this.run.durationS();
    this.$('play-glyph').textContent = ended ? '↻' : '▶';
    this.$('play-label').textContent = ended ? 'Play again' : 'Play';
  }

  /** The run reached its end: the lesson's answer, beside the guess. */
  finished() {
    this.draw();
    if (!this.lesson) {
      this.say(`Simulated ${fmtS(this.run.durationS())}: p99 ${this.$('p99-sim').textContent}.`);
      return;
    }
    const f = this.lesson.face;
    const p = f.predict;
    const fmt = (x) => `${round(x)} ${p ? p.unit : ''}`.trim();
    if (p) this.answers[this.state] = this.run.metric(p.metric);
    const parts = [];
    const main = p && this.answers[p.state];
    if (main != null) {
      let vs = '';
      if (this.guess != null) {
        const r = main / Math.max(this.guess, 1e-12);
        vs = r >= 1.5 || r <= 1 / 1.5
          ? ` Your guess, ${fmt(this.guess)}, was ${r > 1 ? `${round(r)}x too low` : `${round(1 / r)}x too high`}.`
          : ` Your guess, ${fmt(this.guess)}, was close.`;
      }
      parts.push(`Simulated (${p.state === 'fix' ? 'with the fix' : 'the mistake'}): ${fmt(main)}.${vs}`);
    }
    const other = p && this.answers[p.state === 'fix' ? 'mistake' : 'fix'];
    if (other != null) parts.push(`${p.state === 'fix' ? 'The mistake' : 'With the fix'}: ${fmt(other)}.`);
    this.say(parts.join(' '));
    if (!f.toggle) return; // nothing to flip
    const flip = this.$('flip');
    flip.hidden = false;
    flip.textContent = this.state === 'mistake' ? 'Now run the fix' : 'Run the mistake again';
  }

  flip() {
    if (!this.lesson) return;
    this.pause();
    // The run just seen stays on the chart, faint, beside the next one.
    const seen = JSON.parse(this.run.chartJson());
    const was = this.state;
    try {
      this.start(was === 'mistake' ? 'fix' : 'mistake');
    } catch (err) {
      this.fail(String(err?.message ?? err));
      return;
    }
    this.ghost = { t: seen.t, p99: seen.p99 };
    const key = this.$('ghost-key');
    key.hidden = false;
    key.textContent = `· · p99 ${was === 'mistake' ? 'with the mistake' : 'with the fix'}`;
    this.$('flip').hidden = true;
    this.play();
  }

  showTime() {
    if (this.run) this.$('sim-time').textContent = `${this.run.nowS().toFixed(1)} s`;
  }

  say(msg) {
    this.$('result').textContent = msg;
  }

  /** Says why nothing runs, instead of the chart and controls. */
  fail(msg) {
    this.root.querySelector('.frame').classList.add('failed');
    const e = this.$('error');
    e.hidden = false;
    e.textContent = msg;
  }

  draw() {
    const c = this.$('chart');
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (!w || !h) return;
    const dpr = devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr)) c.width = Math.round(w * dpr);
    if (c.height !== Math.round(h * dpr)) c.height = Math.round(h * dpr);
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const css = getComputedStyle(this);
    const fg = css.getPropertyValue('--muted').trim() || '#555';
    const grid = css.getPropertyValue('--line').trim() || '#ddd';
    g.clearRect(0, 0, w, h);
    const d = this.run ? JSON.parse(this.run.chartJson()) : null;
    plot(g, w, h, d, { fg, grid, end: this.run ? this.run.durationS() : 60, ghost: this.ghost });
    if (!d) return;
    const last = [...d.p99].reverse().find((v) => v != null);
    this.$('p99-sim').textContent = last != null ? fmtS(last) : 'not enough answers yet';
    this.$('slo-key').hidden = d.slo_s == null;
    const pooled = this.$('pooled');
    pooled.hidden = d.pooled <= 1;
    pooled.textContent = `A window with under 100 answers has no p99 of its own: it is pooled with the ones before it (over up to ${fmtS(d.pooled * d.window_s)}), or not drawn.`;
    c.setAttribute('aria-label', `Latency over simulated time; latest p99 ${this.$('p99-sim').textContent}`);
  }
}

/** The chart: p50, p95, p99 per window (gaps where too few answers), the SLO dashed. */
function plot(g, w, h, d, o) {
  const L = 44, R = 8, T = 8, B = 20;
  const tMax = Math.max(o.end, d && d.t.length ? d.t[d.t.length - 1] : 0);
  const tMin = d && d.t.length ? Math.max(0, d.t[0] - (d.t[1] - d.t[0] || 1)) : 0;
  let yMax = 0;
  if (d) for (const k of ['p50', 'p95', 'p99']) for (const v of d[k]) if (v != null) yMax = Math.max(yMax, v);
  if (o.ghost) for (const v of o.ghost.p99) if (v != null) yMax = Math.max(yMax, v);
  if (d && d.slo_s != null) yMax = Math.max(yMax, d.slo_s * 1.1);
  yMax = niceCeil(yMax || 1);
  const x = (t) => L + ((t - tMin) / Math.max(tMax - tMin, 1e-9)) * (w - L - R);
  const y = (v) => T + (1 - v / yMax) * (h - T - B);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = o.fg;
  g.strokeStyle = o.grid;
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    g.beginPath();
    g.moveTo(L, y(v));
    g.lineTo(w - R, y(v));
    g.stroke();
    g.fillText(fmtS(v), 2, y(v) + 4);
  }
  g.fillText(`${Math.round(tMin)} s`, L, h - 5);
  const endLabel = `${Math.round(tMax)} s`;
  g.fillText(endLabel, w - R - g.measureText(endLabel).width, h - 5);
  if (!d) return;
  if (d.slo_s != null) {
    g.setLineDash([5, 4]);
    g.strokeStyle = o.fg;
    g.beginPath();
    g.moveTo(L, y(d.slo_s));
    g.lineTo(w - R, y(d.slo_s));
    g.stroke();
    g.setLineDash([]);
  }
  g.save();
  g.beginPath();
  g.rect(L, T - 2, w - L - R, h - T - B + 4);
  g.clip();
  if (o.ghost) {
    g.setLineDash([2, 3]);
    g.strokeStyle = o.fg;
    g.lineWidth = 1.5;
    line(g, o.ghost.t, o.ghost.p99, x, y);
    g.setLineDash([]);
  }
  g.lineWidth = 2;
  for (const k of ['p50', 'p95', 'p99']) {
    g.strokeStyle = INK[k];
    line(g, d.t, d[k], x, y);
  }
  g.restore();
}

/** One series, with gaps where a value is null. */
function line(g, ts, vs, x, y) {
  g.beginPath();
  let pen = false;
  vs.forEach((v, i) => {
    if (v == null) {
      pen = false;
      return;
    }
    if (pen) g.lineTo(x(ts[i]), y(v));
    else g.moveTo(x(ts[i]), y(v));
    pen = true;
  });
  g.stroke();
}

function niceCeil(x) {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** Three significant digits at most, no trailing zeros (60, 75.6, 0.0123, 1,234). */
function round(x) {
  return Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en') : String(Number(x.toPrecision(3)));
}

function fmtS(s) {
  if (s === 0) return '0';
  if (s < 1e-3) return `${round(s * 1e6)} µs`;
  if (s < 1) return `${round(s * 1e3)} ms`;
  return `${round(s)} s`;
}

async function text(url, what) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${what}: not found (${r.status} for ${url})`);
  return r.text();
}

/** `#s=1.<base64url(deflate(json))>` (the sandbox's share links). */
async function decodeLink(hash) {
  const m = /^#?s=(\d+)\.([A-Za-z0-9_-]+)=*$/.exec(hash.trim());
  if (!m) throw new Error(`link: expected "#s=1.<data>" as the Share dialog writes it, got "${hash.slice(0, 40)}"`);
  if (m[1] !== '1') throw new Error(`link: format ${m[1]} is not one this embed reads (1)`);
  let bytes;
  try {
    const b = atob(m[2].replace(/-/g, '+').replace(/_/g, '/'));
    bytes = Uint8Array.from(b, (ch) => ch.charCodeAt(0));
  } catch {
    throw new Error('link: the data is not base64url (was the link cut short?)');
  }
  let json;
  try {
    const s = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
    const r = new Response(s).body.getReader();
    const parts = [];
    let n = 0;
    for (;;) {
      const { done, value } = await r.read();
      if (done) break;
      n += value.length;
      if (n > 256 * 1024) throw new Error('link: the data is over 256 KiB unpacked (the sandbox opens no larger link)');
      parts.push(value);
    }
    json = new TextDecoder().decode(await new Blob(parts).arrayBuffer());
  } catch (e) {
    throw e.message?.startsWith('link:') ? e : new Error('link: the data is not a deflate stream (was the link cut short?)');
  }
  let p;
  try {
    p = JSON.parse(json);
  } catch {
    throw new Error('link: the data is not JSON');
  }
  if (typeof p?.scenario !== 'string') throw new Error('link: scenario: missing (a text of TOML or JSON)');
  return p;
}

if (!customElements.get('tailsim-embed')) customElements.define('tailsim-embed', TailsimEmbed);
