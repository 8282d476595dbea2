// The console's shell: takes the staff token from the URL fragment, routes
// between the pages (#/channel, #/release, #/settings, #/operations) and
// switches the language.
import { takeToken } from './api.js';
import { t, lang, setLang, applyStatic } from './i18n.js';
import { h, clear } from './ui.js';
import * as channel from './channel.js';
import * as release from './release.js';
import * as settings from './settings.js';
import * as operations from './operations.js';

const pages = { channel, release, settings, operations };
let current = null;

function route() {
  const m = /^#\/([a-z]+)/.exec(location.hash);
  return m && pages[m[1]] ? m[1] : null;
}

async function show(moveFocus) {
  const main = document.getElementById('main');
  const name = route() || 'channel';
  if (current && current.leave) current.leave();
  current = pages[name];
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.id === 'nav-' + name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = t('nav.' + name) + ' · ' + t('title');
  document.getElementById('notice').textContent = '';
  clear(main);
  if (!takeToken()) {
    main.append(h('h2', { tabindex: '-1' }, t('signin.title')), h('p', {}, t('signin.body')));
    return;
  }
  const title = h('h2', { id: 'page-title', tabindex: '-1' }, t('nav.' + name));
  const body = h('div', { id: 'page-' + name, class: 'page' });
  main.append(title, body);
  if (moveFocus) title.focus();
  await current.render(body);
}

function init() {
  takeToken();
  applyStatic();
  document.getElementById('lang').addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    applyStatic();
    show(false);
  });
  document.getElementById('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('main').focus();
  });
  window.addEventListener('hashchange', () => {
    if (/^#\/[a-z]+/.test(location.hash) || /token=/.test(location.hash)) show(true);
  });
  if (!route()) history.replaceState(null, '', location.pathname + location.search + '#/channel');
  show(false);
}

init();
