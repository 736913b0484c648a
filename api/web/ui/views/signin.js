// Sign in with an API key: checked against GET /v1/me, then kept in
// session storage.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { ApiError, getJSON, signIn } from '../api.js';
import { quiet, say, view } from '../common.js';

export function signinView() {
  const input = h('input', {
    id: 'key', name: 'key', type: 'password', autocomplete: 'off', spellcheck: 'false',
    required: true, 'aria-describedby': 'key-hint', autocapitalize: 'off',
  });
  const button = h('button', { type: 'submit' }, t('signin.submit'));
  const status = h('p', { class: 'status-line', role: 'status' });
  const form = h('form', { class: 'card signin', novalidate: true },
    h('label', { for: 'key' }, t('signin.key')),
    input,
    h('p', { id: 'key-hint', class: 'hint' }, t('signin.hint')),
    button, status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) {
      say(t('signin.empty'));
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    button.disabled = true;
    status.textContent = t('signin.checking');
    try {
      const who = await getJSON('/v1/me', { key });
      signIn(key, who);
      quiet();
      const next = sessionStorage.getItem('coldtrace.next');
      sessionStorage.removeItem('coldtrace.next');
      location.hash = next && !next.startsWith('#/signin') ? next : '#/search';
    } catch (err) {
      say(err instanceof ApiError ? err.describe() : String(err));
      input.setAttribute('aria-invalid', 'true');
      input.select();
      input.focus();
    } finally {
      button.disabled = false;
      status.textContent = '';
    }
  });
  view(t('signin.title'), form);
  input.focus();
}
