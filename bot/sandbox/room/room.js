// The rehearsal room's page: the sandbox's world as one person sees it, live.
// Plain JavaScript, no build step. Everything it shows comes from /room/api/state; everything
// it does goes through /room/api/act as the person picked at the top (kept in the URL's
// #as=name, so that each tab can be someone else).
"use strict";

const OPTION = { SUB: 1, GROUP: 2, STRING: 3, INTEGER: 4, BOOLEAN: 5, USER: 6, CHANNEL: 7, ROLE: 8,
  MENTIONABLE: 9, NUMBER: 10, ATTACHMENT: 11 };
const room = {
  view: null, as: new URLSearchParams(location.hash.slice(1)).get("as") || "",
  channelId: null, threadId: null, socket: null, editing: null, replyTo: {}, timer: null,
};

// -- small helpers ------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "html") el.innerHTML = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function toast(text, kind) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.className = kind || "";
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

async function act(action, body) {
  const response = await fetch("/room/api/act", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ as: room.view.me.id, action, ...body }),
  });
  const data = await response.json().catch(() => ({ ok: false, error: "the sandbox sent no answer" }));
  if (!data.ok) {
    toast(data.error || "that did not work");
    throw new Error(data.error);
  }
  if (data.modal) showModal(data);
  return data;
}

function person(id) {
  return room.view.people.find(p => p.id === String(id));
}

function channelName(id) {
  const all = [...room.view.channels, ...room.view.threads];
  const found = all.find(c => c.id === String(id));
  return found ? found.name : "unknown-channel";
}

function colourOf(id) {
  const colours = ["#5865f2", "#3ba55c", "#faa61a", "#ed4245", "#eb459e", "#1abc9c", "#9b59b6", "#e67e22"];
  let sum = 0;
  for (const c of String(id)) sum = (sum * 31 + c.charCodeAt(0)) % 9973;
  return colours[sum % colours.length];
}

// -- Discord's Markdown and timestamps --------------------------------------------------

function timestamp(unix, style) {
  const when = new Date(Number(unix) * 1000);
  if (Number.isNaN(when.getTime())) return null;
  const styles = { t: { timeStyle: "short" }, T: { timeStyle: "medium" }, d: { dateStyle: "short" },
    D: { dateStyle: "long" }, f: { dateStyle: "long", timeStyle: "short" },
    F: { dateStyle: "full", timeStyle: "short" } };
  if (style === "R") return relative(when);
  return new Intl.DateTimeFormat(undefined, styles[style] || styles.f).format(when);
}

// The bot's clock: a rehearsal at speed x runs ahead of the wall clock, and "in 2 minutes"
// means 2 minutes of the bot's time.
function botNow() {
  const clock = room.view && room.view.clock;
  if (!clock) return Date.now();
  return clock.now + (Date.now() - room.loadedAt) * clock.speed;
}

function relative(when) {
  const seconds = Math.round((when.getTime() - botNow()) / 1000);
  const units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  const format = new Intl.RelativeTimeFormat("en", { numeric: "always" });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size || unit === "second") return format.format(Math.round(seconds / size), unit);
  }
  return "";
}

// Inline Markdown on one line of escaped text. Links, mentions and timestamps become
// tokens first, so that an underscore in a URL is never read as italics.
function inline(raw) {
  const tokens = [];
  const keep = html => `\u0000${tokens.push(html) - 1}\u0000`;
  let text = raw.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${escapeHtml(code)}</code>`));
  text = escapeHtml(text);
  text = text.replace(/&lt;t:(-?\d+)(?::([tTdDfFR]))?&gt;/g, (all, unix, style) => {
    const shown = timestamp(unix, style || "f");
    if (shown === null) return all;
    const full = new Date(Number(unix) * 1000).toLocaleString();
    return keep(`<time class="timestamp" data-unix="${unix}" data-style="${style || "f"}" title="${escapeHtml(full)}">${escapeHtml(shown)}</time>`);
  });
  text = text.replace(/&lt;@!?(\d+)&gt;/g, (_, id) => {
    const who = person(id);
    return keep(`<span class="mention">@${escapeHtml(who ? who.display : "unknown-user")}</span>`);
  });
  text = text.replace(/&lt;@&amp;(\d+)&gt;/g, (_, id) =>
    keep(`<span class="mention">@${escapeHtml(room.view.roles[id] || "unknown-role")}</span>`));
  text = text.replace(/&lt;#(\d+)&gt;/g, (_, id) => keep(`<span class="mention">#${escapeHtml(channelName(id))}</span>`));
  text = text.replace(/@everyone|@here/g, all => keep(`<span class="mention">${all}</span>`));
  text = text.replace(/\[([^\]\n]+)\]\((?:&lt;)?(https?:\/\/[^\s)&]+(?:&amp;[^\s)&]+)*)(?:&gt;)?\)/g,
    (_, label, url) => keep(`<a href="${url}" target="_blank" rel="noopener noreferrer">${label}</a>`));
  text = text.replace(/&lt;(https?:\/\/[^\s&]+)&gt;|https?:\/\/[^\s<]+[^\s<.,:;"')\]]/g, (all, bracketed) => {
    const url = bracketed || all;
    return keep(`<a href="${url}" target="_blank" rel="noopener noreferrer">${url}</a>`);
  });
  text = text
    .replace(/\*\*\*(.+?)\*\*\*/g, "<strong><em>$1</em></strong>")
    .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
    .replace(/__(.+?)__/g, "<u>$1</u>")
    .replace(/(^|[^*\w])\*(?!\s)(.+?)\*(?!\w)/g, "$1<em>$2</em>")
    .replace(/(^|[^\w])_(?!\s)(.+?)_(?!\w)/g, "$1<em>$2</em>")
    .replace(/~~(.+?)~~/g, "<s>$1</s>")
    .replace(/\|\|(.+?)\|\|/g, '<span class="spoiler">$1</span>');
  return text.replace(/\u0000(\d+)\u0000/g, (_, i) => tokens[Number(i)]);
}

function markdown(source) {
  const out = [];
  const pieces = String(source || "").split(/```/);
  pieces.forEach((piece, index) => {
    if (index % 2 === 1 && index < pieces.length - 1) {
      const code = piece.replace(/^[a-z0-9+#-]*\n/i, "");
      out.push(`<pre><code>${escapeHtml(code.replace(/\n$/, ""))}</code></pre>`);
      return;
    }
    if (index % 2 === 1) piece = "```" + piece;  // an unclosed fence is just text
    const lines = piece.split("\n");
    const html = [];
    let quote = [];
    const flush = () => { if (quote.length) { html.push(`<blockquote>${quote.join("<br>")}</blockquote>`); quote = []; } };
    for (const line of lines) {
      let m;
      if ((m = line.match(/^>>> ?(.*)$/))) { quote.push(inline(m[1])); continue; }
      if ((m = line.match(/^> ?(.*)$/))) { quote.push(inline(m[1])); continue; }
      flush();
      if ((m = line.match(/^(#{1,3}) (.+)$/))) html.push(`<span class="md-h${m[1].length}">${inline(m[2])}</span>`);
      else if ((m = line.match(/^-# (.+)$/))) html.push(`<span class="md-sub">${inline(m[1])}</span>`);
      else if ((m = line.match(/^\s*[-*] (.+)$/))) html.push(`<span class="md-li">• ${inline(m[1])}</span>`);
      else if ((m = line.match(/^\s*(\d+)\. (.+)$/))) html.push(`<span class="md-li">${m[1]}. ${inline(m[2])}</span>`);
      else html.push(inline(line) + "\n");
    }
    flush();
    out.push(html.join("").replace(/\n$/, ""));
  });
  const el = h("div", { class: "md" });
  el.innerHTML = out.join("");
  el.querySelectorAll(".spoiler").forEach(s => s.addEventListener("click", () => s.classList.add("shown")));
  return el;
}

// -- messages -----------------------------------------------------------------------------

function renderEmbed(embed) {
  const colour = embed.color !== undefined && embed.color !== null ? "#" + Number(embed.color).toString(16).padStart(6, "0") : null;
  const el = h("div", { class: "embed", "data-embed": "" });
  if (colour) el.style.borderLeftColor = colour;
  if (embed.author && embed.author.name) el.append(h("div", { class: "e-author" }, embed.author.name));
  if (embed.title) {
    const title = h("div", { class: "e-title" });
    title.append(embed.url ? h("a", { href: embed.url, target: "_blank", rel: "noopener noreferrer" }, markdown(embed.title)) : markdown(embed.title));
    el.append(title);
  }
  if (embed.description) el.append(h("div", { class: "e-desc" }, markdown(embed.description)));
  if (embed.fields && embed.fields.length) {
    el.append(h("div", { class: "e-fields" }, embed.fields.map(f =>
      h("div", { class: "e-field" + (f.inline ? " inline" : "") },
        h("div", { class: "e-field-name" }, markdown(f.name)), h("div", { class: "e-field-value" }, markdown(f.value))))));
  }
  if (embed.image && embed.image.url) el.append(h("img", { src: embed.image.url, alt: "" }));
  const footer = [embed.footer && embed.footer.text, embed.timestamp && new Date(embed.timestamp).toLocaleString()].filter(Boolean);
  if (footer.length) el.append(h("div", { class: "e-footer" }, footer.join(" • ")));
  return el;
}

function renderComponents(message) {
  const rows = (message.components || []).filter(r => r.type === 1);
  if (!rows.length) return null;
  return h("div", { class: "components" }, rows.map(row => h("div", { class: "row" }, (row.components || []).map(c => {
    if (c.type === 2) {
      const label = [c.emoji && c.emoji.name, c.label].filter(Boolean).join(" ");
      if (c.style === 5) return h("a", { class: "btn-5", href: c.url, target: "_blank", rel: "noopener noreferrer", role: "button" }, label + " ↗");
      return h("button", { type: "button", class: `btn-${c.style || 2}`, disabled: !!c.disabled, "data-custom-id": c.custom_id,
        onclick: () => act("press", { message_id: message.id, custom_id: c.custom_id }).catch(() => {}) }, label);
    }
    if (c.type === 3) {
      const select = h("select", { "data-custom-id": c.custom_id, disabled: !!c.disabled },
        h("option", { value: "" }, c.placeholder || "Make a selection"),
        (c.options || []).map(o => h("option", { value: o.value }, o.label)));
      select.addEventListener("change", () => {
        if (select.value) act("press", { message_id: message.id, custom_id: c.custom_id, values: [select.value] }).catch(() => {});
      });
      return select;
    }
    return h("span", { class: "opt-desc" }, "(a menu the room cannot show)");
  }))));
}

function renderMessage(message, paneChannelId) {
  const author = message.author || {};
  const who = person(author.id) || { display: author.global_name || author.username, bot: !!author.bot };
  const me = room.view.me;
  const el = h("div", { class: "message" + (message.ephemeral ? " ephemeral" : "") + (message.type === 18 ? " system" : ""),
    "data-message-id": message.id, "data-author": author.username });
  el.append(h("div", { class: "avatar" }, (who.display || "?").slice(0, 1).toUpperCase()));
  el.lastChild.style.background = colourOf(author.id);
  if (message.type === 19 && message.referenced_message) {
    const ref = message.referenced_message;
    el.append(h("div", { class: "reply-to" }, `↪ @${(ref.author && (ref.author.global_name || ref.author.username)) || "someone"}: `,
      (ref.content || "(an embed)").slice(0, 80)));
  }
  const sent = new Date(message.timestamp);
  el.append(h("div", { class: "head" }, h("span", { class: "author" }, who.display || author.username),
    who.bot ? h("span", { class: "tag" }, "APP") : null,
    h("time", { class: "when", title: sent.toLocaleString() }, sent.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
    message.edited_timestamp ? h("span", { class: "edited", title: new Date(message.edited_timestamp).toLocaleString() }, "(edited)") : null));
  if (room.editing && room.editing.id === message.id) {
    const box = h("textarea", { "aria-label": "Edit message" });
    box.value = room.editing.text;
    box.addEventListener("input", () => { room.editing.text = box.value; });
    el.append(h("form", { class: "edit-box", onsubmit: event => {
      event.preventDefault();
      act("edit", { message_id: message.id, content: box.value }).then(() => { room.editing = null; load(); }).catch(() => {});
    } }, box, h("div", { class: "row" }, h("button", { type: "submit", class: "btn-1", "data-action": "save" }, "Save"),
      h("button", { type: "button", onclick: () => { room.editing = null; render(); } }, "Cancel"))));
  } else if (message.type === 18) {
    el.append(h("div", { class: "content" }, `${who.display} started a thread: `, h("strong", {}, message.content)));
  } else if (message.content) {
    el.append(h("div", { class: "content" }, markdown(message.content)));
  }
  for (const embed of message.embeds || []) el.append(renderEmbed(embed));
  for (const file of message.attachments || []) {
    el.append(h("div", {}, h("a", { class: "attachment", href: file.url, target: "_blank", rel: "noopener", "data-attachment": file.filename },
      `📎 ${file.filename} (${Math.max(1, Math.round(file.size / 1024))} KB)`)));
  }
  const components = renderComponents(message);
  if (components) el.append(components);
  if (message.reactions && message.reactions.length) {
    el.append(h("div", { class: "reactions" }, message.reactions.map(r => h("span", { class: "reaction" }, `${r.emoji.name} ${r.count}`))));
  }
  const thread = message.thread || (message.type === 18 && message.message_reference && { id: message.message_reference.channel_id });
  if (thread && room.view.messages[thread.id]) {
    const info = room.view.threads.find(t => t.id === thread.id) || {};
    el.append(h("div", { class: "thread-chip", role: "button", tabindex: "0", "data-open-thread": thread.id,
      onclick: () => openThread(thread.id) },
      h("span", {}, "🧵"), h("span", { class: "t-name" }, info.name || thread.name || "thread"),
      h("span", { class: "t-count" }, `${info.count ?? 0} messages ›`)));
  }
  if (message.ephemeral) {
    el.append(h("div", { class: "ephemeral-note" }, "👁 Only you can see this"));
  } else if (message.type !== 18) {
    const tools = h("div", { class: "tools" },
      h("button", { type: "button", "data-action": "reply", onclick: () => startReply(paneChannelId, message) }, "Reply"),
      h("button", { type: "button", "data-action": "react", onclick: () => act("react", { message_id: message.id, emoji: "👍" }).catch(() => {}) }, "👍"));
    if (message.mine) {
      tools.append(h("button", { type: "button", "data-action": "edit", onclick: () => {
        room.editing = { id: message.id, text: message.content || "" };
        render();
      } }, "Edit"));
    }
    if (message.mine || me.moderator) {
      tools.append(h("button", { type: "button", "data-action": "delete", onclick: event => {
        const button = event.currentTarget;
        if (button.dataset.sure) act("delete", { message_id: message.id }).catch(() => {});
        else { button.dataset.sure = "1"; button.textContent = "Delete?"; }
      } }, "Delete"));
    }
    el.append(tools);
  }
  return el;
}

function renderMessages(container, channelId) {
  const list = container.querySelector(".messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const previous = list.scrollTop;
  list.replaceChildren(...(room.view.messages[channelId] || []).map(m => renderMessage(m, channelId)));
  list.scrollTop = atBottom ? list.scrollHeight : previous;
}

// -- the composer and slash commands ------------------------------------------------------

function composer(pane, channelId) {
  const box = h("textarea", { placeholder: `Message ${pane === "thread" ? "the thread" : "#" + channelName(channelId)} — or / for commands`,
    "aria-label": "Message", rows: 1 });
  const palette = h("div", { class: "palette", hidden: true });
  const form = h("form", { class: "command-form", hidden: true });
  const replying = h("div", { class: "replying", hidden: true }, h("span", {}), h("button", { type: "button", onclick: () => {
    delete room.replyTo[channelId]; replying.hidden = true; } }, "✕"));
  const wrap = h("div", { class: "composer", "data-composer": pane }, palette, form, replying,
    h("form", { class: "say", onsubmit: event => { event.preventDefault(); say(); } }, box,
      h("button", { type: "submit", class: "btn-1", "data-action": "send" }, "Send")));
  const matches = () => {
    const typed = box.value.slice(1).trim().toLowerCase();
    return room.view.commands.filter(c => c.path.startsWith(typed) || typed.startsWith(c.path + " ") || typed === c.path);
  };
  const showPalette = () => {
    if (!box.value.startsWith("/")) { palette.hidden = true; return; }
    const found = matches();
    palette.replaceChildren(...found.slice(0, 40).map(c => h("div", { class: "cmd", "data-command": c.path,
      onclick: () => openCommand(c) }, h("strong", {}, "/" + c.path), h("span", { class: "d" }, c.description))));
    palette.hidden = found.length === 0;
  };
  const openCommand = command => {
    palette.hidden = true;
    box.value = "";
    commandForm(form, command, channelId);
  };
  const say = () => {
    const text = box.value;
    if (text.startsWith("/")) {
      const found = matches();
      if (found.length) openCommand(found[0]);
      else toast(`No command ${text.split(" ")[0]} here`);
      return;
    }
    if (!text.trim()) return;
    const reply = room.replyTo[channelId];
    act("send", { channel_id: channelId, content: text, reply_to: reply && reply.id }).then(() => {
      box.value = "";
      delete room.replyTo[channelId];
      replying.hidden = true;
    }).catch(() => {});
  };
  box.addEventListener("input", showPalette);
  box.addEventListener("keydown", event => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); say(); }
    if (event.key === "Escape") palette.hidden = true;
  });
  wrap.showReply = message => {
    replying.firstChild.textContent = `Replying to ${(person(message.author.id) || {}).display || message.author.username}`;
    replying.hidden = false;
    box.focus();
  };
  return wrap;
}

function commandForm(form, command, channelId) {
  const fields = [];
  const inputs = {};
  for (const option of command.options) {
    const id = `opt-${Math.random().toString(36).slice(2)}`;
    let input;
    if (option.choices && option.choices.length) {
      input = h("select", { id }, h("option", { value: "" }, option.required ? "Choose…" : "(none)"),
        option.choices.map(c => h("option", { value: String(c.value) }, c.name)));
    } else if (option.type === OPTION.BOOLEAN) {
      input = h("select", { id }, h("option", { value: "" }, "(default)"), h("option", { value: "true" }, "True"), h("option", { value: "false" }, "False"));
    } else if (option.type === OPTION.USER || option.type === OPTION.MENTIONABLE) {
      input = h("select", { id }, h("option", { value: "" }, "Choose someone…"),
        room.view.people.map(p => h("option", { value: p.id }, p.display)));
    } else if (option.type === OPTION.CHANNEL) {
      input = h("select", { id }, room.view.channels.map(c => h("option", { value: c.id, selected: c.id === room.channelId }, "#" + c.name)));
    } else if (option.type === OPTION.ROLE) {
      input = h("select", { id }, h("option", { value: "" }, "Choose a role…"),
        Object.entries(room.view.roles).map(([rid, name]) => h("option", { value: rid }, name)));
    } else if (option.type === OPTION.ATTACHMENT) {
      input = h("input", { id, disabled: true, placeholder: "files cannot be attached in the room" });
    } else {
      const list = `${id}-list`;
      input = h("input", { id, autocomplete: "off", list: option.autocomplete ? list : null,
        type: option.type === OPTION.STRING || option.autocomplete ? "text" : "number",
        step: option.type === OPTION.NUMBER ? "any" : null, min: option.min_value, max: option.max_value,
        maxlength: option.max_length });
      if (option.autocomplete) {
        const datalist = h("datalist", { id: list });
        let pending = null;
        const ask = () => {
          clearTimeout(pending);
          pending = setTimeout(() => {
            act("autocomplete", { command: command.path, focused: option.name, value: input.value,
              options: values(true), channel_id: channelId }).then(data => {
              datalist.replaceChildren(...data.choices.map(c => h("option", { value: String(c.value) }, c.name)));
              input.dataset.choices = JSON.stringify(data.choices);
            }).catch(() => {});
          }, 200);
        };
        input.addEventListener("input", ask);
        input.addEventListener("focus", ask);
        fields.push(datalist);
      }
    }
    input.dataset.option = option.name;
    inputs[option.name] = { input, option };
    fields.push(h("label", { for: id }, h("span", {}, option.name, option.required ? " *" : ""),
      input, h("span", { class: "opt-desc" }, option.description || "")));
  }
  const values = partial => {
    const out = {};
    for (const [name, { input, option }] of Object.entries(inputs)) {
      if (input.value === "" || input.disabled) continue;
      if (partial && document.activeElement === input) continue;
      if (option.type === OPTION.INTEGER) out[name] = parseInt(input.value, 10);
      else if (option.type === OPTION.NUMBER) out[name] = Number(input.value);
      else if (option.type === OPTION.BOOLEAN) out[name] = input.value === "true";
      else out[name] = input.value;
    }
    return out;
  };
  const close = () => { form.hidden = true; form.replaceChildren(); };
  form.replaceChildren(h("strong", {}, "/" + command.path), h("span", { class: "opt-desc" }, command.description), ...fields,
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "btn-1", "data-action": "run" }, "Run"),
      h("button", { type: "button", onclick: close }, "Cancel")));
  form.onsubmit = event => {
    event.preventDefault();
    const missing = command.options.filter(o => o.required && !(o.name in values(false)));
    if (missing.length) { toast(`Fill in ${missing.map(o => o.name).join(", ")} first`); return; }
    const run = form.querySelector("[data-action=run]");
    run.disabled = true;
    run.textContent = "Sending…";
    act("invoke", { command: command.path, options: values(false), channel_id: channelId })
      .then(close).catch(() => { run.disabled = false; run.textContent = "Run"; });
  };
  form.hidden = false;
  const first = form.querySelector("input:not([disabled]), select");
  if (first) first.focus();
}

function showModal(data) {
  const modal = data.modal;
  const inputs = [];
  for (const row of modal.components || []) {
    const items = row.type === 1 ? row.components : row.type === 18 ? [row.component] : [];
    for (const item of items || []) {
      if (item.type !== 4) continue;
      const input = item.style === 2 ? h("textarea", { maxlength: item.max_length }) : h("input", { maxlength: item.max_length });
      input.value = item.value || "";
      input.placeholder = item.placeholder || "";
      input.dataset.customId = item.custom_id;
      inputs.push(h("label", {}, (row.label || item.label || item.custom_id) + (item.required === false ? "" : " *"), input));
    }
  }
  const back = h("div", { class: "modal-back" });
  const close = () => back.remove();
  back.append(h("form", { class: "modal", "data-modal": modal.custom_id, onsubmit: event => {
    event.preventDefault();
    const values = {};
    back.querySelectorAll("[data-custom-id]").forEach(i => { values[i.dataset.customId] = i.value; });
    act("submit_modal", { interaction_id: data.interaction_id, values }).then(close).catch(() => {});
  } }, h("strong", {}, modal.title), ...inputs,
  h("div", { class: "row" }, h("button", { type: "submit", class: "btn-1" }, "Submit"), h("button", { type: "button", onclick: close }, "Cancel"))));
  document.body.append(back);
}

// -- panes, sidebar, members --------------------------------------------------------------

const composers = {};

function pane(name, channelId, title, topic, closable) {
  const el = document.getElementById(name);
  if (el.dataset.channel !== channelId || !composers[name]) {
    el.dataset.channel = channelId;
    composers[name] = composer(name, channelId);
    el.replaceChildren(h("div", { class: "pane-head" }, h("span", {}, title), h("span", { class: "topic" }, topic || ""),
      closable ? h("button", { type: "button", "aria-label": "Close thread", onclick: closeThread }, "✕") : null),
    h("div", { class: "messages" }), composers[name]);
  }
  renderMessages(el, channelId);
}

function startReply(channelId, message) {
  room.replyTo[channelId] = message;
  const name = channelId === room.threadId ? "thread" : "channel";
  composers[name].showReply(message);
}

function openThread(id) {
  room.threadId = id;
  document.getElementById("thread").hidden = false;
  render();
}

function closeThread() {
  room.threadId = null;
  document.getElementById("thread").hidden = true;
  delete composers.thread;
  render();
}

function render() {
  const view = room.view;
  if (!view) return;
  if (!room.channelId || !view.messages[room.channelId]) room.channelId = view.channels[0] && view.channels[0].id;
  const channel = view.channels.find(c => c.id === room.channelId);
  document.getElementById("guild-name").textContent = view.guild.name;
  document.getElementById("channel-title").textContent = channel ? `# ${channel.name}` : "";
  showClock();
  const select = document.getElementById("person");
  select.replaceChildren(...view.people.filter(p => !p.bot).map(p =>
    h("option", { value: p.name, selected: p.id === view.me.id }, `${p.display}${p.moderator ? " (moderator)" : ""}`)));
  const sidebar = document.getElementById("sidebar");
  sidebar.replaceChildren(...view.channels.map(c => [
    h("a", { class: "channel" + (c.id === room.channelId ? " active" : ""), "data-channel": c.name, onclick: () => {
      room.channelId = c.id; delete composers.channel; document.body.classList.remove("show-sidebar"); render(); } }, `# ${c.name}`),
    view.threads.filter(t => t.parent_id === c.id && !t.archived).map(t =>
      h("a", { class: "thread-link" + (t.id === room.threadId ? " active" : ""), "data-thread": t.name, onclick: () => {
        document.body.classList.remove("show-sidebar"); openThread(t.id); } }, `🧵 ${t.name}`)),
  ]).flat(Infinity));
  if (channel) pane("channel", channel.id, `# ${channel.name}`, channel.topic, false);
  const thread = view.threads.find(t => t.id === room.threadId);
  const threadPane = document.getElementById("thread");
  document.body.classList.toggle("thread-open", !!thread);
  if (thread) {
    threadPane.hidden = false;
    pane("thread", thread.id, `🧵 ${thread.name}`, thread.archived ? "archived" : thread.locked ? "locked" : "", true);
  } else {
    threadPane.hidden = true;
  }
  const groups = [["Moderators", view.people.filter(p => p.moderator)], ["Members", view.people.filter(p => !p.moderator && !p.bot)],
    ["Apps", view.people.filter(p => p.bot)]];
  document.getElementById("members").replaceChildren(...groups.filter(([, list]) => list.length).map(([title, list]) => [
    h("h3", {}, `${title} — ${list.length}`),
    list.map(p => h("div", { class: "person", "data-person": p.name }, h("span", { class: "dot" + (p.bot ? (p.online ? " on" : "") : " on") }),
      h("span", {}, p.display, p.id === view.me.id ? " (you)" : "")))]).flat(Infinity));
  document.body.dataset.ready = "1";
}

function showClock() {
  const clock = room.view && room.view.clock;
  document.getElementById("clock").textContent = clock && clock.speed !== 1
    ? `bot clock ×${clock.speed} · ${new Date(botNow()).toLocaleTimeString()}` : "";
}

// -- loading and live updates -------------------------------------------------------------

async function load() {
  const response = await fetch(`/room/api/state?as=${encodeURIComponent(room.as)}`);
  if (!response.ok) {
    toast(await response.text());
    if (room.as) { room.as = ""; return load(); }
    return;
  }
  room.view = await response.json();
  room.loadedAt = Date.now();
  if (room.as !== room.view.me.name) {
    room.as = room.view.me.name;
    history.replaceState(null, "", `#as=${encodeURIComponent(room.as)}`);
  }
  document.title = `${room.view.me.display} · Rehearsal room`;
  render();
  connect();
}

function connect() {
  if (room.socket && room.socket.person === room.view.me.id && room.socket.readyState <= 1) return;
  if (room.socket) room.socket.close();
  const socket = new WebSocket(`ws://${location.host}/room/ws?as=${room.view.me.id}`);
  socket.person = room.view.me.id;
  socket.onmessage = () => { clearTimeout(room.timer); room.timer = setTimeout(load, 30); };
  socket.onclose = () => { if (room.socket === socket) setTimeout(() => { room.socket = null; load(); }, 1000); };
  room.socket = socket;
}

function become(name) {
  room.as = name;
  room.editing = null;
  room.replyTo = {};
  for (const key of Object.keys(composers)) delete composers[key];
  history.replaceState(null, "", `#as=${encodeURIComponent(name)}`);
  load();
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("person").addEventListener("change", event => become(event.target.value));
  const adder = document.getElementById("new-person");
  document.getElementById("add-person").addEventListener("click", () => { adder.hidden = false; adder.elements.name.focus(); });
  document.getElementById("new-person-cancel").addEventListener("click", () => { adder.hidden = true; });
  adder.addEventListener("submit", event => {
    event.preventDefault();
    act("add_person", { name: adder.elements.name.value, moderator: adder.elements.moderator.checked }).then(data => {
      adder.hidden = true;
      adder.reset();
      become(data.person.name);
    }).catch(() => {});
  });
  document.getElementById("menu-toggle").addEventListener("click", () => document.body.classList.toggle("show-sidebar"));
  document.getElementById("members-toggle").addEventListener("click", () => document.body.classList.toggle("show-members"));
  window.addEventListener("hashchange", () => {
    const wanted = new URLSearchParams(location.hash.slice(1)).get("as") || "";
    if (room.view && wanted && wanted !== room.view.me.name) become(wanted);
  });
  setInterval(() => {
    showClock();
    document.querySelectorAll('time.timestamp[data-style="R"]').forEach(t => {
      t.textContent = relative(new Date(Number(t.dataset.unix) * 1000));
    });
  }, 1000);
  load();
});
