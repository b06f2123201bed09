(function () {
  'use strict';
  function el(id) { return document.getElementById(id); }
  var table = el('instances');
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  rows.forEach(function (r, i) {
    r.sortIndex = i;
    r.searchText = r.textContent.toLowerCase();
    r.tagList = (r.getAttribute('data-tags') || '').toLowerCase().split('\n').filter(Boolean);
  });
  var f = {
    q: el('f-q'), verdict: el('f-verdict'), check: el('f-check'),
    sub: el('f-sub'), rg: el('f-rg'), tag: el('f-tag')
  };
  var keys = ['verdict', 'check', 'sub', 'rg', 'tag', 'q'];
  var sortState = null;

  function tagMatches(r, t) {
    if (!t) { return true; }
    t = t.toLowerCase();
    var eq = t.indexOf('=');
    return r.tagList.some(function (x) {
      return eq < 0 ? x.split('=')[0] === t : x === t;
    });
  }

  function apply() {
    var q = f.q.value.trim().toLowerCase();
    var v = f.verdict.value, c = f.check.value, s = f.sub.value, g = f.rg.value;
    var t = f.tag.value.trim();
    var shown = 0;
    rows.forEach(function (r) {
      var ok = (!v || r.getAttribute('data-verdict') === v) &&
        (!c || (' ' + r.getAttribute('data-checks') + ' ').indexOf(' ' + c + ' ') >= 0) &&
        (!s || r.getAttribute('data-sub') === s) &&
        (!g || r.getAttribute('data-rg') === g) &&
        tagMatches(r, t) &&
        (!q || r.searchText.indexOf(q) >= 0);
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    el('shown').textContent = String(shown);
    table.setAttribute('data-shown', String(shown));
  }

  function cellValue(r, col, type) {
    var cell = r.cells[col];
    var v = cell.getAttribute('data-v');
    if (v === null) { v = cell.textContent.trim(); }
    return type === 'num' ? (parseFloat(v) || 0) : v.toLowerCase();
  }

  function sortBy(key, dir) {
    var ths = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var th = null, col = -1;
    ths.forEach(function (h, i) {
      if (h.getAttribute('data-key') === key) { th = h; col = i; }
      h.removeAttribute('aria-sort');
    });
    if (!th) { return; }
    var type = th.getAttribute('data-type');
    var sign = dir === 'desc' ? -1 : 1;
    rows.sort(function (a, b) {
      var x = cellValue(a, col, type), y = cellValue(b, col, type);
      if (x < y) { return -sign; }
      if (x > y) { return sign; }
      return a.sortIndex - b.sortIndex;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
    th.setAttribute('aria-sort', dir === 'desc' ? 'descending' : 'ascending');
    sortState = { key: key, dir: dir };
  }

  function stateToHash() {
    var parts = [];
    keys.forEach(function (k) {
      var v = f[k].value.trim();
      if (v) { parts.push(k + ':' + encodeURIComponent(v)); }
    });
    var h = [];
    if (parts.length) { h.push('filter=' + parts.join(';')); }
    if (sortState) { h.push('sort=' + sortState.key + ':' + sortState.dir); }
    try {
      history.replaceState(null, '', h.length ? '#' + h.join('&') : location.pathname);
    } catch (e) { /* some viewers forbid it: the view still works */ }
  }

  function hashToState() {
    var h = location.hash.replace(/^#/, '');
    keys.forEach(function (k) { f[k].value = ''; });
    var sort = null;
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
          if (f[k]) { f[k].value = v; }
        });
      } else if (name === 'sort') {
        var p = value.split(':');
        sort = { key: p[0], dir: p[1] === 'desc' ? 'desc' : 'asc' };
      }
    });
    if (sort) { sortBy(sort.key, sort.dir); }
    apply();
  }

  keys.forEach(function (k) {
    f[k].addEventListener('input', function () { apply(); stateToHash(); });
    f[k].addEventListener('change', function () { apply(); stateToHash(); });
  });
  el('f-clear').addEventListener('click', function () {
    keys.forEach(function (k) { f[k].value = ''; });
    apply();
    stateToHash();
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    var key = th.getAttribute('data-key');
    if (!key) { return; }
    th.addEventListener('click', function () {
      var dir = sortState && sortState.key === key && sortState.dir === 'asc' ? 'desc' : 'asc';
      sortBy(key, dir);
      stateToHash();
    });
  });
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
  window.addEventListener('hashchange', hashToState);
  hashToState();
  document.documentElement.setAttribute('data-script', 'ready');
})();
