// A chat room on wsgate with the JavaScript client, loaded as a plain ES
// module (no bundler). Serve the repository root with any static server
// and open /examples/chat/ (see README.md); the node's URL is ws://<this
// host>:8080/ws unless ?ws=URL says otherwise.
import { Client } from '../../clients/js/index.js';

const $ = (id) => document.getElementById(id);
const wsURL = new URLSearchParams(location.search).get('ws') || `ws://${location.hostname}:8080/ws`;
const client = new Client(wsURL, { heartbeat: true });
let room = null;

client.on('state', ({ state, code, reason }) => {
  const badge = $('state');
  badge.className = `badge ${state}`;
  badge.textContent = code ? `${state} (${code}${reason ? ' ' + reason : ''})` : state;
});

function show(post, meta) {
  const li = document.createElement('li');
  const who = document.createElement('b');
  who.textContent = `${post.name}: `;
  li.append(who, document.createTextNode(post.text));
  if (meta && meta.offset) li.title = `offset ${meta.offset}`;
  $('posts').append(li);
  li.scrollIntoView({ block: 'end' });
}

$('join').addEventListener('submit', (e) => {
  e.preventDefault();
  if (room) room.unsubscribe();
  $('posts').replaceChildren();
  const channel = `chat.${$('room').value}`;
  room = client.subscribe(channel, {
    onMessage: (post, meta) => show(post, meta),
    onError: (err) => show({ name: 'wsgate', text: `cannot join: ${err.code}` }),
  });
  $('text').disabled = false;
  $('post').querySelector('button').disabled = false;
  $('text').focus();
});

$('post').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('text').value;
  $('text').value = '';
  try {
    await client.publish(`chat.${$('room').value}`, { name: $('name').value, text });
  } catch (err) {
    show({ name: 'wsgate', text: `not sent (${err.code || err.message})` });
  }
});

client.connect().catch((err) => show({ name: 'wsgate', text: `cannot connect: ${err.message}` }));

// A link can carry the room and name (?room=lobby&name=ana) and join at
// once; say=TEXT also posts TEXT once joined.
const params = new URLSearchParams(location.search);
if (params.has('room')) {
  $('room').value = params.get('room');
  if (params.has('name')) $('name').value = params.get('name');
  $('join').requestSubmit();
  if (params.has('say')) {
    room.on('subscribed', () => {
      $('text').value = params.get('say');
      $('post').requestSubmit();
    });
  }
}
