// The consumer page's language switch: Chinese by default, the choice kept
// in localStorage. Without JavaScript the switch is a plain ?lang= link.
const KEY = 'coldtrace.lang';
const root = document.documentElement;

function apply(lang) {
  root.dataset.lang = lang;
  root.lang = lang === 'en' ? 'en' : 'zh-CN';
  const a = document.getElementById('lang-switch');
  if (a) {
    a.href = '?lang=' + (lang === 'en' ? 'zh' : 'en');
    a.hreflang = lang === 'en' ? 'zh-CN' : 'en';
  }
}

const asked = new URLSearchParams(location.search).get('lang');
let stored = null;
try { stored = localStorage.getItem(KEY); } catch { /* storage disabled */ }
const lang = asked === 'en' || asked === 'zh' ? asked : (stored === 'en' ? 'en' : 'zh');
try { localStorage.setItem(KEY, lang); } catch { /* storage disabled */ }
apply(lang);

document.getElementById('lang-switch')?.addEventListener('click', (e) => {
  e.preventDefault();
  const next = root.dataset.lang === 'en' ? 'zh' : 'en';
  try { localStorage.setItem(KEY, next); } catch { /* storage disabled */ }
  apply(next);
});
