// The regulator console: a single page whose views are chosen by the URL's
// fragment (#/search, #/lot/CODE, ...). The API key never appears in it.

import { applyStatic, lang, setLang, t, word } from './i18n.js';
import { apiKey, me, signOut, whenUnauthenticated } from './api.js';
import { navigated, sayAcross } from './common.js';
import { signinView } from './views/signin.js';
import { searchView } from './views/search.js';
import { lotView } from './views/lot.js';
import { recallView } from './views/recall.js';
import { closureView } from './views/closure.js';
import { findingsView } from './views/findings.js';
import { startAlerts } from './alerts.js';

// route shows the view the fragment names.
async function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  shell();
  if (parts[0] !== 'signin' && !apiKey()) {
    sessionStorage.setItem('coldtrace.next', location.hash);
    location.replace('#/signin');
    return;
  }
  markNav(parts[0]);
  startAlerts();
  switch (parts[0]) {
    case 'signin': return signinView(params);
    case 'lot':
      if (parts[2] === 'recall') return recallView(parts[1]);
      return lotView(parts[1]);
    case 'closure': return closureView();
    case 'findings': return findingsView(params);
    case 'search': return searchView(params);
    default:
      location.replace('#/search');
  }
}

// shell shows who is signed in and the navigation.
function shell() {
  const signedIn = !!apiKey();
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('signout').hidden = !signedIn;
  const who = document.getElementById('who');
  const m = me();
  if (signedIn && m) {
    const parts = [m.org_name || m.org || '', word('role', m.role)];
    if (m.regions?.length) parts.push(m.regions.join(', '));
    who.textContent = parts.filter(Boolean).join(' · ');
  } else {
    who.textContent = '';
  }
  document.getElementById('lang').textContent = t('lang.other');
  document.getElementById('lang').lang = lang() === 'en' ? 'zh-CN' : 'en';
  applyStatic();
}

function markNav(section) {
  for (const a of document.querySelectorAll('#nav a')) {
    const on = a.getAttribute('href') === '#/' + section;
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

let lastHash = null;
window.addEventListener('hashchange', () => {
  if (location.hash !== lastHash) navigated();
  lastHash = location.hash;
  route();
});

document.getElementById('lang').addEventListener('click', () => {
  setLang(lang() === 'en' ? 'zh' : 'en');
  route();
});

document.getElementById('signout').addEventListener('click', () => {
  signOut();
  sayAcross(t('signin.out'), 'info');
  location.hash = '#/signin';
});

whenUnauthenticated(() => {
  signOut();
  if (location.hash.startsWith('#/signin')) return;
  sessionStorage.setItem('coldtrace.next', location.hash);
  sayAcross(t('err.unauthenticated'));
  location.hash = '#/signin';
});

setLang(lang());
lastHash = location.hash;
route();
