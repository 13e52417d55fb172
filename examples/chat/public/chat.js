// The room's page logic, shared by both pages. A page calls startChat(join) where join(user,
// handlers) subscribes to the presence channel with its client library and calls
//   handlers.here(members), handlers.joining(member), handlers.leaving(member),
//   handlers.message(data), handlers.state(text)
// members being {id, name}. Messages go to the PHP backend, which publishes them.
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const user = {
    id: sessionStorage.getItem('chat-id') || crypto.randomUUID(),
    name: params.get('name') || sessionStorage.getItem('chat-name') || 'guest-' + Math.floor(Math.random() * 1000),
  };
  sessionStorage.setItem('chat-id', user.id);
  sessionStorage.setItem('chat-name', user.name);
  const members = new Map();

  function renderMembers() {
    const ul = $('members');
    ul.replaceChildren(...[...members.values()].sort((a, b) => a.name.localeCompare(b.name)).map((m) => {
      const li = document.createElement('li');
      li.textContent = m.name + (m.id === user.id ? ' (you)' : '');
      li.dataset.name = m.name;
      return li;
    }));
  }

  function addLine(who, text) {
    const li = document.createElement('li');
    const b = document.createElement('span');
    b.className = 'who';
    b.textContent = who + ': ';
    li.append(b, document.createTextNode(text));
    li.dataset.text = text;
    $('log').append(li);
    $('log').scrollTop = $('log').scrollHeight;
  }

  window.startChat = function (join) {
    $('me').textContent = user.name;
    join(user, {
      here(list) { members.clear(); for (const m of list) members.set(m.id, m); renderMembers(); },
      joining(m) { members.set(m.id, m); renderMembers(); },
      leaving(m) { members.delete(m.id); renderMembers(); },
      message(d) { addLine(d.name, d.text); },
      state(s) { $('state').textContent = s; },
    });
    $('say').addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = $('text').value.trim();
      if (!text) return;
      $('text').value = '';
      const res = await fetch('/messages', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user_id: user.id, name: user.name, text }),
      });
      if (!res.ok) addLine('error', (await res.json()).error);
    });
  };
})();
