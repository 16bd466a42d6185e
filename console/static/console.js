/* 云博士工作台: the few live parts (no framework, no inline script: CSP). */
(function () {
  "use strict";

  function csrf(form) {
    var field = (form || document).querySelector("input[name=_csrf]");
    return field ? field.value : "";
  }

  // Confirm before a step that cannot be undone (close a ticket, cancel a notice).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // No double submissions: a second click while the first is on its way does nothing.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) { return; }
      if (form.dataset.sending) { event.preventDefault(); return; }
      form.dataset.sending = "1";
      setTimeout(function () { delete form.dataset.sending; }, 8000);
    });
  });

  // --- the composer --------------------------------------------------------------------
  var compose = document.getElementById("compose");
  if (compose) {
    var boxes = compose.querySelectorAll("ul.tree input[type=checkbox]");
    var all = document.getElementById("target-all");
    var counter = document.getElementById("selected-count");
    var covered = function (box) {          // a checked ancestor already covers it
      var li = box.closest("li");
      var parent = li && li.parentElement.closest("li");
      while (parent) {
        var own = parent.querySelector(":scope > details > summary input[type=checkbox]");
        if (own && own.checked) { return true; }
        parent = parent.parentElement.closest("li");
      }
      return false;
    };
    var update = function () {
      var total = 0;
      boxes.forEach(function (box) {
        var hidden = (all && all.checked) || covered(box);
        box.disabled = hidden;                // a disabled box is not sent: no overlap
        if (box.checked && !hidden) { total += Number(box.dataset.groups || 0); }
      });
      if (counter) {
        counter.textContent = all && all.checked ? "（全部网格群）" : (total ? "（已选 " + total + " 个群）" : "");
      }
    };
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    if (all) { all.addEventListener("change", update); }
    update();

    var button = document.getElementById("preview-button");
    var section = document.getElementById("preview");
    var body = document.getElementById("preview-body");
    button.addEventListener("click", function () {
      var platforms = Array.prototype.map.call(
        compose.querySelectorAll("input[name=platform]:checked"), function (b) { return b.value; });
      var format = compose.querySelector("input[name=body_format]:checked");
      var payload = { title: document.getElementById("title").value,
        body: document.getElementById("body").value, body_format: format ? format.value : "text",
        platforms: platforms };
      body.textContent = "正在生成预览……";
      section.hidden = false;
      fetch("/broadcasts/preview", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(compose) },
        body: JSON.stringify(payload) })
        .then(function (res) {
          if (res.redirected) { throw new Error("登录已过期，请刷新页面重新登录"); }
          return res.json().then(function (data) { return { ok: res.ok, data: data }; });
        })
        .then(function (result) {
          body.textContent = "";
          if (!result.ok) { throw new Error(result.data.error || "预览失败"); }
          result.data.platforms.forEach(function (p) {
            var block = document.createElement("div");
            block.className = "preview-platform";
            var head = document.createElement("h3");
            head.textContent = p.label + "：" + p.messages.length + " 条" + (p.messages[0] && p.messages[0].markdown ? "（Markdown）" : "");
            block.appendChild(head);
            p.messages.forEach(function (m) {
              var text = document.createElement("div");
              text.className = "preview-message";
              text.textContent = m.text;
              var size = document.createElement("div");
              size.className = "muted";
              size.textContent = m.bytes + " 字节";
              block.appendChild(text);
              block.appendChild(size);
            });
            body.appendChild(block);
          });
        })
        .catch(function (err) { body.textContent = ""; var p = document.createElement("p");
          p.className = "error"; p.textContent = err.message; body.appendChild(p); });
    });
  }

  // --- live progress of a notice (server-sent events) ------------------------------------
  var progress = document.getElementById("progress");
  if (progress && progress.dataset.final !== "true" && window.EventSource) {
    var LABELS = { pending: "待发送", sending: "发送中", sent: "已送达", retrying: "重试中",
      failed: "失败", cancelled: "已取消" };
    var PLATFORMS = { wecom: "企业微信", dingtalk: "钉钉", feishu: "飞书", onebot: "QQ", web: "网页" };
    var table = document.querySelector("#deliveries tbody");
    var state = document.getElementById("live-state");
    var set = function (id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } };
    var apply = function (data) {
      var counts = data.counts || {};
      document.getElementById("bar").value = data.percent;
      set("percent", data.percent + "%");
      set("total", data.total);
      set("count-sent", counts.sent || 0);
      set("count-open", data.open);
      set("count-failed", counts.failed || 0);
      set("count-cancelled", counts.cancelled || 0);
      set("status-label", data.status_label);
      (data.deliveries || []).forEach(function (d) {
        if (!table) { return; }
        var row = table.querySelector("tr[data-id='" + d.id + "']");
        if (!row) {
          row = document.createElement("tr");
          row.dataset.id = d.id;
          ["name", "platform", "grid", "state", "attempts", "reason"].forEach(function (c) {
            var td = document.createElement("td"); td.className = c; row.appendChild(td); });
          row.children[0].textContent = d.group_name;
          row.children[1].textContent = PLATFORMS[d.platform] || d.platform;
          row.children[2].textContent = d.grid_code;
          table.appendChild(row);
        }
        row.className = "state-" + d.state;
        row.querySelector(".state").textContent = LABELS[d.state] || d.state;
        row.querySelector(".attempts").textContent = d.attempts;
        row.querySelector(".reason").textContent = d.reason || "";
      });
    };
    var source = new EventSource("/broadcasts/" + progress.dataset.notice + "/events?since=" +
      encodeURIComponent(progress.dataset.since || "0"));
    source.addEventListener("progress", function (e) { apply(JSON.parse(e.data)); state.textContent = "正在更新……"; });
    source.addEventListener("done", function (e) {
      apply(JSON.parse(e.data)); state.textContent = "已完成"; progress.dataset.final = "true"; source.close(); });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED && progress.dataset.final !== "true") {
        state.textContent = "连接已断开，请刷新页面（可能需要重新登录）";
      } else if (progress.dataset.final !== "true") { state.textContent = "连接中断，正在重连……"; }
    });
  }
})();
