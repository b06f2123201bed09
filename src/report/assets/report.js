(function () {
  'use strict';
  var root = document.documentElement;
  function el(id) { return document.getElementById(id); }
  function make(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  // Runs `fn` once the frame showing the current DOM has been painted.
  function afterPaint(fn) {
    if (window.requestAnimationFrame) {
      window.requestAnimationFrame(function () { setTimeout(fn, 0); });
    } else {
      setTimeout(fn, 0);
    }
  }

  // Copy buttons (remediation commands), wherever they are on the page.
  document.addEventListener('click', function (ev) {
    var b = ev.target;
    if (!b || !b.classList || !b.classList.contains('copy')) { return; }
    var code = b.parentNode.querySelector('code');
    if (!code) { return; }
    var text = code.textContent;
    function done() { b.textContent = 'Copied'; setTimeout(function () { b.textContent = 'Copy'; }, 1500); }
    function fallback() {
      var ta = document.createElement('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      try { document.execCommand('copy'); done(); } catch (e) { /* nothing to do */ }
      document.body.removeChild(ta);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  });

  var table = el('instances');
  var dataEl = el('scready-data');
  if (!table || !dataEl) {
    root.setAttribute('data-script', 'ready');
    return;
  }

  // The instance data, once: columns of indices into shared tables (see html/data.rs).
  var D = JSON.parse(dataEl.textContent);
  var S = D.strings, C = D.columns, N = D.total;
  var SUBS = D.subscriptions, CHECKS = D.checks;
  var name = C.name, idSuffix = C.idSuffix, idPrefix = C.idPrefix, subCol = C.subscription;
  var rgCol = C.resourceGroup, locCol = C.location, kindCol = C.kind, osCol = C.os;
  var powCol = C.power, bootCol = C.bootDiagnostics, ssCol = C.scaleSet, verdictCol = C.verdict;
  var csCol = C.checkSet, fsCol = C.findingSet, tsCol = C.tagSet, changeCol = C.change;
  var VERDICTS = ['ready', 'ready_with_warnings', 'unknown', 'blocked'];
  var VERDICT_LABEL = ['ready', 'ready with warnings', 'unknown', 'blocked'];
  var VERDICT_RANK = [3, 2, 1, 0];
  var STATUS = ['fail', 'warn', 'unknown', 'waived'];
  var CHANGES = ['', 'newly_blocked', 'fixed', 'now_unknown', 'appeared', 'not_seen_before'];
  var CHANGE_LABEL = ['', 'newly blocked', 'fixed', 'now undecided', 'appeared',
    'not seen in the previous (partial) run'];
  var COLUMNS = 8, OVERSCAN = 8;

  function suffixOf(i) { var x = idSuffix[i]; return typeof x === 'number' ? name[i] : x; }
  function idOf(i) { return S[idPrefix[i]] + suffixOf(i); }
  function subLabel(k) { return SUBS[k][1] || SUBS[k][0]; }
  function power(i) { return S[powCol[i]] || 'unknown'; }
  function stateText(i) {
    return S[kindCol[i]] + ' · ' + S[locCol[i]] + ' · ' + power(i) + ' · boot diagnostics: ' + S[bootCol[i]];
  }
  function checkId(c) { return CHECKS[c][0]; }
  // A text whose instance values were replaced by markers U+0001..U+0006, with them put back
  // (last substituted first).
  var MARKERS = /[\u0001-\u0006]/;
  function untemplate(t, i) {
    if (!MARKERS.test(t)) { return t; }
    var values = [idOf(i), S[ssCol[i]], name[i], S[rgCol[i]], SUBS[subCol[i]][0], suffixOf(i)];
    for (var k = 6; k >= 1; k -= 1) { t = t.split(String.fromCharCode(k)).join(values[k - 1]); }
    return t;
  }
  function ownFindings(i) { return D.findingSets[fsCol[i]]; }
  function wideFindings(i) {
    var out = [];
    D.subscriptionFindings.forEach(function (f) {
      if (f[0] === subCol[i]) { out.push({ check: f[1], status: f[2], where: 'subscription-wide' }); }
    });
    D.environmentFindings.forEach(function (f) {
      out.push({ check: f[0], status: f[1], where: 'scanner environment' });
    });
    return out;
  }
  var wideCount = null;
  function findingCount(i) {
    if (!wideCount) {
      wideCount = new Int32Array(SUBS.length);
      D.subscriptionFindings.forEach(function (f) { wideCount[f[0]] += 1; });
    }
    return ownFindings(i).length + wideCount[subCol[i]] + D.environmentFindings.length;
  }

  // Lower-case texts for search, sorting and filters, built on first use.
  var lowerS = null, lowerNames = null;
  function lowerStrings() {
    if (!lowerS) { lowerS = S.map(function (x) { return x.toLowerCase(); }); }
    return lowerS;
  }
  function namesLower() {
    if (!lowerNames) {
      lowerNames = new Array(N);
      for (var i = 0; i < N; i += 1) { lowerNames[i] = name[i].toLowerCase(); }
    }
    return lowerNames;
  }
  // Ranks of texts (equal texts share a rank).
  function rankTexts(texts) {
    var idx = new Array(texts.length);
    for (var k = 0; k < texts.length; k += 1) { idx[k] = k; }
    idx.sort(function (a, b) {
      return texts[a] < texts[b] ? -1 : (texts[a] > texts[b] ? 1 : a - b);
    });
    var rank = new Int32Array(texts.length);
    var r = 0;
    for (var j = 0; j < idx.length; j += 1) {
      if (j > 0 && texts[idx[j]] !== texts[idx[j - 1]]) { r += 1; }
      rank[idx[j]] = r;
    }
    return rank;
  }

  var f = {
    q: el('f-q'), verdict: el('f-verdict'), check: el('f-check'),
    sub: el('f-sub'), rg: el('f-rg'), change: el('f-change'), tag: el('f-tag')
  };
  var keys = ['verdict', 'check', 'sub', 'rg', 'change', 'tag', 'q'].filter(function (k) { return f[k]; });
  var scroller = el('scroller');
  var tbody = table.tBodies[0];
  var detail = el('detail');
  var shownEl = el('shown');

  var order = null; // the rows in the current sort order (null: the default order)
  var sortState = null;
  var view = new Int32Array(N); // the rows shown, in order
  var shown = 0;
  var selected = -1;
  var rowHeight = 34;
  var measured = false;
  var first = -1, last = -1;

  function spacer() {
    var tr = make('tr', 'spacer');
    var td = make('td');
    td.colSpan = COLUMNS;
    tr.appendChild(td);
    return tr;
  }
  var topSpacer = spacer(), bottomSpacer = spacer();
  var emptyRow = make('tr', 'none');
  var emptyCell = make('td', 'empty', 'No instance matches.');
  emptyCell.colSpan = COLUMNS;
  emptyRow.appendChild(emptyCell);

  function makeRow(i) {
    var tr = make('tr', 'inst');
    var v = verdictCol[i];
    tr.setAttribute('data-verdict', VERDICTS[v]);
    tr.setAttribute('data-row', String(i));
    tr.tabIndex = 0;
    if (i === selected) { tr.setAttribute('aria-selected', 'true'); }
    var td = make('td', 'name', name[i]);
    td.title = idOf(i);
    tr.appendChild(td);
    td = make('td');
    td.appendChild(make('span', 'badge ' + VERDICTS[v], VERDICT_LABEL[v]));
    tr.appendChild(td);
    td = make('td', null, subLabel(subCol[i]));
    td.title = SUBS[subCol[i]][0];
    tr.appendChild(td);
    tr.appendChild(make('td', null, S[rgCol[i]]));
    td = make('td', 'small state', stateText(i));
    td.title = stateText(i) + (S[osCol[i]] ? ' · ' + S[osCol[i]] : '');
    tr.appendChild(td);
    td = make('td');
    var set = D.checkSets[csCol[i]];
    var titles = [];
    set[0].forEach(function (c) { td.appendChild(make('span', 'chk b', checkId(c))); titles.push(checkId(c)); });
    set[1].forEach(function (c) { td.appendChild(make('span', 'chk w', checkId(c))); titles.push(checkId(c)); });
    set[2].forEach(function (c) { td.appendChild(make('span', 'chk', checkId(c) + '?')); titles.push(checkId(c) + '?'); });
    if (titles.length) { td.title = titles.join(' '); }
    tr.appendChild(td);
    td = make('td');
    var tags = D.tagSets[tsCol[i]].map(function (t) { return S[t]; });
    tags.forEach(function (t) { td.appendChild(make('span', 'tag', t)); });
    if (tags.length) { td.title = tags.join('\n'); }
    tr.appendChild(td);
    var n = findingCount(i);
    tr.appendChild(n ? make('td', 'findings', n + (n === 1 ? ' finding' : ' findings'))
      : make('td', 'findings empty', 'none'));
    return tr;
  }

  function headHeight() { return table.tHead ? table.tHead.offsetHeight : 0; }

  // Draws the rows on screen (plus a few above and below); spacers stand for the others, so
  // that the scrollbar covers every row shown.
  function render(force) {
    var viewport = Math.max(scroller.clientHeight, window.innerHeight || 0, 400);
    var top = Math.max(0, scroller.scrollTop - headHeight());
    var a = Math.max(0, Math.floor(top / rowHeight) - OVERSCAN);
    var b = Math.min(shown, Math.ceil((top + viewport) / rowHeight) + OVERSCAN);
    if (a > b) { a = Math.max(0, b - OVERSCAN); }
    if (!force && a === first && b === last) { return; }
    first = a;
    last = b;
    var frag = document.createDocumentFragment();
    frag.appendChild(topSpacer);
    for (var p = a; p < b; p += 1) { frag.appendChild(makeRow(view[p])); }
    if (shown === 0) { frag.appendChild(emptyRow); }
    frag.appendChild(bottomSpacer);
    tbody.textContent = '';
    tbody.appendChild(frag);
    topSpacer.firstChild.style.height = (a * rowHeight) + 'px';
    bottomSpacer.firstChild.style.height = ((shown - b) * rowHeight) + 'px';
    table.setAttribute('data-first', String(a));
    if (!measured && b > a) {
      measured = true;
      var h = tbody.rows[1].getBoundingClientRect().height;
      if (h > 0 && Math.abs(h - rowHeight) > 0.01) {
        rowHeight = h;
        render(true);
      }
      table.setAttribute('data-row-height', String(rowHeight));
    }
  }

  var scheduled = false;
  scroller.addEventListener('scroll', function () {
    if (scheduled) { return; }
    scheduled = true;
    (window.requestAnimationFrame || setTimeout)(function () { scheduled = false; render(false); });
  });
  window.addEventListener('resize', function () { render(false); });

  function scrollToPosition(p) {
    scroller.scrollTop = Math.max(0, p * rowHeight);
    render(false);
  }

  // Row predicates over whole tables: computed once per filter change, then one pass over the
  // rows with array look-ups only.
  function matcher(q) {
    var L = lowerStrings();
    var sm = new Uint8Array(S.length);
    for (var k = 0; k < L.length; k += 1) { sm[k] = L[k].indexOf(q) >= 0 ? 1 : 0; }
    var subm = SUBS.map(function (s) {
      return s[0].toLowerCase().indexOf(q) >= 0 || s[1].toLowerCase().indexOf(q) >= 0;
    });
    var chkm = CHECKS.map(function (c) {
      for (var j = 0; j < c.length - (c.length > 5 ? 1 : 0); j += 1) {
        if (c[j].toLowerCase().indexOf(q) >= 0) { return true; }
      }
      return false;
    });
    var csm = D.checkSets.map(function (set) {
      return set.some(function (list) { return list.some(function (c) { return chkm[c]; }); });
    });
    var tsm = D.tagSets.map(function (set) { return set.some(function (t) { return sm[t]; }); });
    var fm = D.findings.map(function (x) {
      return chkm[x[0]] || sm[x[2]] || sm[x[3]] || sm[x[4]] || sm[x[5]] || sm[x[6]];
    });
    var fsm = D.findingSets.map(function (set) { return set.some(function (x) { return fm[x]; }); });
    var vm = VERDICT_LABEL.map(function (l) { return l.indexOf(q) >= 0; });
    var slash = q.indexOf('/') >= 0;
    var nl = namesLower();
    return function (i) {
      if (nl[i].indexOf(q) >= 0 || sm[idPrefix[i]] || sm[rgCol[i]] || sm[locCol[i]] ||
          sm[kindCol[i]] || sm[powCol[i]] || sm[osCol[i]] || sm[bootCol[i]] || sm[ssCol[i]] ||
          subm[subCol[i]] || vm[verdictCol[i]] || csm[csCol[i]] || tsm[tsCol[i]] || fsm[fsCol[i]]) {
        return true;
      }
      var x = idSuffix[i];
      if (typeof x !== 'number' && x.toLowerCase().indexOf(q) >= 0) { return true; }
      return slash && (L[idPrefix[i]] + (typeof x === 'number' ? nl[i] : x.toLowerCase())).indexOf(q) >= 0;
    };
  }

  // The filters as one string: a `change` that follows an `input` for the same value does not
  // filter again.
  var applied = null;
  function signature() {
    return keys.map(function (k) { return f[k].value; }).join('\u0000') + '\u0000' +
      (sortState ? sortState.key + ':' + sortState.dir : '');
  }

  function apply() {
    applied = signature();
    var q = f.q.value.trim().toLowerCase();
    var vIdx = f.verdict.value ? VERDICTS.indexOf(f.verdict.value) : -1;
    var subOk = null, rgOk = null, csOk = null, tsOk = null, changeIdx = -1;
    if (f.sub.value) {
      var sv = f.sub.value.toLowerCase();
      subOk = SUBS.map(function (s) { return s[0].toLowerCase() === sv; });
    }
    if (f.rg.value) {
      var rv = f.rg.value.toLowerCase();
      rgOk = lowerStrings().map(function (x) { return x === rv; });
    }
    if (f.check.value) {
      var cv = f.check.value;
      csOk = D.checkSets.map(function (set) {
        return set.some(function (list) { return list.some(function (c) { return checkId(c) === cv; }); });
      });
    }
    var t = f.tag.value.trim().toLowerCase();
    if (t) {
      var eq = t.indexOf('=');
      var L = lowerStrings();
      tsOk = D.tagSets.map(function (set) {
        return set.some(function (x) { return eq < 0 ? L[x].split('=')[0] === t : L[x] === t; });
      });
    }
    if (f.change && f.change.value) { changeIdx = CHANGES.indexOf(f.change.value); }
    var match = q ? matcher(q) : null;
    var n = 0;
    for (var p = 0; p < N; p += 1) {
      var i = order ? order[p] : p;
      if ((vIdx >= 0 && verdictCol[i] !== vIdx) ||
          (subOk && !subOk[subCol[i]]) ||
          (rgOk && !rgOk[rgCol[i]]) ||
          (csOk && !csOk[csCol[i]]) ||
          (tsOk && !tsOk[tsCol[i]]) ||
          (changeIdx >= 0 && changeCol[i] !== changeIdx) ||
          (match && !match(i))) {
        continue;
      }
      view[n] = i;
      n += 1;
    }
    shown = n;
    shownEl.textContent = String(n);
    table.setAttribute('data-shown', String(n));
    scroller.scrollTop = 0;
    render(true);
  }

  var sortKeys = {};
  function sortKey(key) {
    if (sortKeys[key]) { return sortKeys[key]; }
    var k = new Float64Array(N), i, rank, texts;
    if (key === 'name') {
      rank = rankTexts(namesLower());
      for (i = 0; i < N; i += 1) { k[i] = rank[i]; }
    } else if (key === 'verdict') {
      for (i = 0; i < N; i += 1) { k[i] = VERDICT_RANK[verdictCol[i]]; }
    } else if (key === 'subscription') {
      rank = rankTexts(SUBS.map(function (s, j) { return subLabel(j).toLowerCase(); }));
      for (i = 0; i < N; i += 1) { k[i] = rank[subCol[i]]; }
    } else if (key === 'rg') {
      rank = rankTexts(lowerStrings());
      for (i = 0; i < N; i += 1) { k[i] = rank[rgCol[i]]; }
    } else if (key === 'state') {
      var combos = {}, list = [], at = new Int32Array(N);
      for (i = 0; i < N; i += 1) {
        var c = kindCol[i] + ',' + locCol[i] + ',' + powCol[i] + ',' + bootCol[i];
        var slot = combos[c];
        if (slot === undefined) { slot = combos[c] = list.length; list.push(stateText(i).toLowerCase()); }
        at[i] = slot;
      }
      rank = rankTexts(list);
      for (i = 0; i < N; i += 1) { k[i] = rank[at[i]]; }
    } else if (key === 'checks') {
      texts = D.checkSets.map(function (set) {
        return set[0].concat(set[1]).map(checkId)
          .concat(set[2].map(function (c) { return checkId(c) + '?'; })).join(' ');
      });
      rank = rankTexts(texts);
      for (i = 0; i < N; i += 1) { k[i] = rank[csCol[i]]; }
    } else if (key === 'tags') {
      var L = lowerStrings();
      texts = D.tagSets.map(function (set) { return set.map(function (x) { return L[x]; }).join(' '); });
      rank = rankTexts(texts);
      for (i = 0; i < N; i += 1) { k[i] = rank[tsCol[i]]; }
    } else {
      return null;
    }
    sortKeys[key] = k;
    return k;
  }

  function headers() { return Array.prototype.slice.call(table.tHead.rows[0].cells); }

  function sortBy(key, dir) {
    var th = null;
    headers().forEach(function (h) {
      if (h.getAttribute('data-key') === key) { th = h; }
      h.removeAttribute('aria-sort');
    });
    var k = th ? sortKey(key) : null;
    if (!k) { order = null; sortState = null; return; }
    var sign = dir === 'desc' ? -1 : 1;
    var a = new Array(N);
    for (var i = 0; i < N; i += 1) { a[i] = i; }
    a.sort(function (x, y) { return (k[x] - k[y]) * sign || x - y; });
    order = a;
    th.setAttribute('aria-sort', dir === 'desc' ? 'descending' : 'ascending');
    sortState = { key: key, dir: dir };
  }

  function clearSort() {
    order = null;
    sortState = null;
    headers().forEach(function (h) { h.removeAttribute('aria-sort'); });
  }

  function dl(pairs) {
    var d = make('dl');
    pairs.forEach(function (p) {
      if (!p[1]) { return; }
      d.appendChild(make('dt', null, p[0]));
      var dd = make('dd');
      if (typeof p[1] === 'string') { dd.textContent = p[1]; } else { dd.appendChild(p[1]); }
      d.appendChild(dd);
    });
    return d;
  }

  function findingItem(i, x) {
    var c = CHECKS[x[0]], status = STATUS[x[1]];
    var li = make('li', status);
    li.setAttribute('data-check', c[0]);
    var head = make('div');
    head.appendChild(make('span', 'badge ' + status, status));
    head.appendChild(document.createTextNode(' '));
    head.appendChild(make('span', 'chk', c[0]));
    if (c[1]) { head.appendChild(document.createTextNode(' ' + c[1])); }
    if (x[5]) { head.appendChild(make('span', 'small', ' principal ' + S[x[5]])); }
    li.appendChild(head);
    li.appendChild(make('div', 'msg', untemplate(S[x[2]], i)));
    if (c[3]) {
      var portal = make('div', 'portal');
      portal.appendChild(make('span', 'lbl', 'Portal error:'));
      portal.appendChild(document.createTextNode(c[3]));
      li.appendChild(portal);
    }
    if (x[3]) {
      var mit = make('div', 'mit');
      mit.appendChild(make('span', 'lbl', 'Mitigation:'));
      mit.appendChild(document.createTextNode(untemplate(S[x[3]], i)));
      li.appendChild(mit);
    }
    if (x[4]) {
      var rem = make('div', 'rem');
      rem.appendChild(make('code', null, untemplate(S[x[4]], i)));
      var b = make('button', 'copy', 'Copy');
      b.type = 'button';
      rem.appendChild(b);
      li.appendChild(rem);
    }
    if (x[6]) {
      var w = make('div', 'small');
      w.appendChild(make('span', 'lbl', 'Waived:'));
      w.appendChild(document.createTextNode(untemplate(S[x[6]], i)));
      li.appendChild(w);
    }
    return li;
  }

  // The selected instance in full: its fields, tags and every finding.
  function showDetail(i) {
    detail.textContent = '';
    if (i < 0) { detail.hidden = true; return; }
    var close = make('button', 'close', '×');
    close.type = 'button';
    close.setAttribute('aria-label', 'close');
    close.addEventListener('click', function () { select(-1); });
    detail.appendChild(close);
    var h = make('h3', null, name[i] + ' ');
    h.appendChild(make('span', 'badge ' + VERDICTS[verdictCol[i]], VERDICT_LABEL[verdictCol[i]]));
    detail.appendChild(h);
    var tags = make('span');
    D.tagSets[tsCol[i]].forEach(function (t) { tags.appendChild(make('span', 'tag', S[t])); });
    var sub = SUBS[subCol[i]];
    detail.appendChild(dl([
      ['id', make('code', null, idOf(i))],
      ['subscription', sub[1] ? sub[1] + ' (' + sub[0] + ')' : sub[0]],
      ['resource group', S[rgCol[i]]],
      ['kind', S[kindCol[i]] + (S[ssCol[i]] ? ' in scale set ' + S[ssCol[i]] : '')],
      ['region', S[locCol[i]]],
      ['OS', S[osCol[i]]],
      ['power', power(i)],
      ['boot diagnostics', S[bootCol[i]]],
      ['since the last run', CHANGE_LABEL[changeCol[i]]],
      ['tags', tags.childNodes.length ? tags : '']
    ]));
    var own = ownFindings(i), wide = wideFindings(i);
    detail.appendChild(make('h4', null, (own.length + wide.length) ? 'Findings' : 'No findings'));
    var ul = make('ul', 'findings');
    own.forEach(function (x) { ul.appendChild(findingItem(i, D.findings[x])); });
    wide.forEach(function (w) {
      var status = STATUS[w.status];
      var li = make('li', status);
      li.setAttribute('data-check', checkId(w.check));
      li.appendChild(make('span', 'badge ' + status, status));
      li.appendChild(document.createTextNode(' '));
      li.appendChild(make('span', 'chk', checkId(w.check)));
      li.appendChild(document.createTextNode(' ' + w.where + ' — '));
      var a = make('a', null, 'see subscription and environment findings');
      a.href = '#sub-findings';
      li.appendChild(a);
      ul.appendChild(li);
    });
    detail.appendChild(ul);
    detail.hidden = false;
  }

  function select(i) {
    selected = i;
    showDetail(i);
    render(true);
    stateToHash();
  }

  tbody.addEventListener('click', function (ev) {
    var tr = ev.target && ev.target.closest ? ev.target.closest('tr.inst') : null;
    if (tr) { select(parseInt(tr.getAttribute('data-row'), 10)); }
  });
  tbody.addEventListener('keydown', function (ev) {
    if (ev.key !== 'Enter' && ev.key !== ' ') { return; }
    var tr = ev.target && ev.target.closest ? ev.target.closest('tr.inst') : null;
    if (tr) { ev.preventDefault(); select(parseInt(tr.getAttribute('data-row'), 10)); }
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape' && selected >= 0) { select(-1); }
  });

  function stateToHash() {
    var parts = [];
    keys.forEach(function (k) {
      var v = f[k].value.trim();
      if (v) { parts.push(k + ':' + encodeURIComponent(v)); }
    });
    var h = [];
    if (parts.length) { h.push('filter=' + parts.join(';')); }
    if (sortState) { h.push('sort=' + sortState.key + ':' + sortState.dir); }
    if (selected >= 0) { h.push('instance=' + encodeURIComponent(idOf(selected))); }
    try {
      history.replaceState(null, '', h.length ? '#' + h.join('&') : location.pathname + location.search);
    } catch (e) { /* some viewers forbid it: the view still works */ }
  }

  function hashToState() {
    var h = location.hash.replace(/^#/, '');
    keys.forEach(function (k) { f[k].value = ''; });
    var sort = null, instance = null;
    h.split('&').forEach(function (part) {
      var i = part.indexOf('=');
      if (i < 0) { return; }
      var name = part.slice(0, i), value = part.slice(i + 1);
      if (name === 'filter') {
        value.split(';').forEach(function (item) {
          var j = item.indexOf(':');
          if (j < 0) { return; }
          var k = item.slice(0, j), v;
          try { v = decodeURIComponent(item.slice(j + 1)); } catch (e) { v = item.slice(j + 1); }
          if (f[k] && keys.indexOf(k) >= 0) { f[k].value = v; }
        });
      } else if (name === 'sort') {
        var p = value.split(':');
        sort = { key: p[0], dir: p[1] === 'desc' ? 'desc' : 'asc' };
      } else if (name === 'instance') {
        try { instance = decodeURIComponent(value); } catch (e) { instance = value; }
      }
    });
    if (sort) { sortBy(sort.key, sort.dir); } else { clearSort(); }
    apply();
    selected = -1;
    if (instance) {
      var want = instance.toLowerCase();
      for (var p = 0; p < shown; p += 1) {
        if (idOf(view[p]).toLowerCase() === want) {
          selected = view[p];
          scrollToPosition(p);
          break;
        }
      }
    }
    showDetail(selected);
    render(true);
  }

  keys.forEach(function (k) {
    f[k].addEventListener('input', function (ev) {
      var started = ev.timeStamp;
      apply();
      stateToHash();
      if (k === 'q') {
        var q = f.q.value;
        // How long the search took to show its result, for the benchmark.
        afterPaint(function () {
          root.setAttribute('data-search-ms', String(Math.round(performance.now() - started)));
          root.setAttribute('data-searched', q);
        });
      }
    });
    f[k].addEventListener('change', function () {
      if (signature() !== applied) { apply(); stateToHash(); }
    });
  });
  el('f-clear').addEventListener('click', function () {
    keys.forEach(function (k) { f[k].value = ''; });
    apply();
    stateToHash();
  });
  headers().forEach(function (th) {
    var key = th.getAttribute('data-key');
    if (!key) { return; }
    th.addEventListener('click', function () {
      var dir = sortState && sortState.key === key && sortState.dir === 'asc' ? 'desc' : 'asc';
      sortBy(key, dir);
      apply();
      stateToHash();
    });
  });
  window.addEventListener('hashchange', hashToState);
  hashToState();
  // When the first rows were on screen (ms since navigation started), for the benchmark.
  afterPaint(function () {
    root.setAttribute('data-first-rows-ms', String(Math.round(performance.now())));
  });
  root.setAttribute('data-script', 'ready');
})();
