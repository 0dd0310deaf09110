/* PovertyCase field visits: the offline queue (IndexedDB), the visit form and the service worker.
 *
 * A visit is first written to the phone (IndexedDB, store "queue", keyed by the UUID the phone
 * makes for it), then sent to the API. The server stores a UUID once, so sending again after a
 * lost answer is harmless. The queue is flushed when the page loads, when the browser comes back
 * online, every 20 seconds and on "Send now". Every page shows how many visits are waiting.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var API = script.dataset.api;
  var SW = script.dataset.sw;
  var MSG = {
    saved: script.dataset.msgSaved,
    sent: script.dataset.msgSent,
    refused: script.dataset.msgRefused,
    login: script.dataset.msgLogin,
    offline: script.dataset.msgOffline,
    gps: script.dataset.msgGps,
    gpsFailed: script.dataset.msgGpsFailed,
  };
  var DB_NAME = "povertycase";
  var STORE = "queue";
  var DUE_KEY = "povertycase.due";
  var flushing = null;

  // --- IndexedDB -------------------------------------------------------------------------------

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "uuid" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function tx(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(result && result.result); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }

  function allEntries() { return tx("readonly", function (s) { return s.getAll(); }); }
  function putEntry(entry) { return tx("readwrite", function (s) { s.put(entry); }); }
  function deleteEntry(uuid) { return tx("readwrite", function (s) { s.delete(uuid); }); }

  // --- sending ---------------------------------------------------------------------------------

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function formData(entry) {
    var data = new FormData();
    Object.keys(entry.fields).forEach(function (name) {
      var value = entry.fields[name];
      if (Array.isArray(value)) {
        value.forEach(function (item) { data.append(name, item); });
      } else if (value !== null && value !== undefined && value !== "") {
        data.append(name, value);
      }
    });
    data.append("uuid", entry.uuid);
    data.append("member_changes", JSON.stringify(entry.member_changes || []));
    (entry.photos || []).forEach(function (photo, index) {
      data.append("photos", photo, photo.name || "photo-" + index + ".jpg");
    });
    return data;
  }

  /* Resolves to "sent", "refused" (with entry.errors set) or "later". */
  function send(entry) {
    entry.note = "";
    return fetch(API, {
      method: "POST",
      body: formData(entry),
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    }).then(function (response) {
      if (response.status === 200 || response.status === 201) { return "sent"; }
      if ([400, 404, 409].indexOf(response.status) >= 0) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          entry.errors = body;
          return "refused";
        });
      }
      if (response.status === 401 || response.status === 403) { entry.note = MSG.login; }
      return "later";
    }, function () { return "later"; });
  }

  function flush() {
    if (flushing) { return flushing; }
    flushing = allEntries().then(function (entries) {
      var waiting = entries.filter(function (e) { return e.status === "waiting"; });
      return waiting.reduce(function (chain, entry) {
        return chain.then(function (stop) {
          if (stop) { return true; }
          return send(entry).then(function (outcome) {
            if (outcome === "sent") { return deleteEntry(entry.uuid).then(function () { return false; }); }
            if (outcome === "refused") {
              entry.status = "refused";
              return putEntry(entry).then(function () { return false; });
            }
            // Offline or signed out: keep it (with the reason, if any) and try again later.
            return (entry.note ? putEntry(entry) : Promise.resolve()).then(function () { return true; });
          });
        });
      }, Promise.resolve(false));
    }).catch(function () { return true; }).then(function (stopped) {
      flushing = null;
      return showCount().then(function () { return stopped; });
    });
    return flushing;
  }

  function errorText(errors) {
    if (!errors) { return ""; }
    if (errors.detail) { return String(errors.detail); }
    return Object.keys(errors).map(function (key) {
      return key + ": " + [].concat(errors[key]).join(" ");
    }).join("; ");
  }

  function showCount() {
    return allEntries().then(function (entries) {
      var waiting = entries.filter(function (e) { return e.status === "waiting"; });
      var refused = entries.filter(function (e) { return e.status === "refused"; });
      document.querySelectorAll("[data-queue-count]").forEach(function (el) {
        el.textContent = String(waiting.length);
        el.classList.toggle("d-none", waiting.length === 0);
      });
      document.querySelectorAll("[data-queue-number]").forEach(function (el) {
        el.textContent = String(waiting.length);
      });
      document.querySelectorAll("[data-queue-panel]").forEach(function (el) {
        el.classList.toggle("d-none", waiting.length === 0);
      });
      var note = waiting.map(function (e) { return e.note; }).filter(Boolean)[0] ||
        (navigator.onLine ? "" : MSG.offline);
      document.querySelectorAll("[data-queue-note]").forEach(function (el) { el.textContent = note || ""; });
      document.querySelectorAll("[data-queue-refused]").forEach(function (el) {
        el.classList.toggle("d-none", refused.length === 0);
        var list = el.querySelector("[data-queue-refused-list]");
        list.textContent = "";
        refused.forEach(function (e) {
          var li = document.createElement("li");
          li.textContent = (e.label || "") + " — " + errorText(e.errors);
          list.appendChild(li);
        });
      });
    }).catch(function () {});
  }

  // --- the visit form --------------------------------------------------------------------------

  function dueHouseholds() {
    try { return JSON.parse(localStorage.getItem(DUE_KEY) || "{}"); } catch (e) { return {}; }
  }

  function rememberDue() {
    var node = document.getElementById("visit-due-data");
    if (!node) { return; }
    var map = {};
    JSON.parse(node.textContent || "[]").forEach(function (h) { map[h.id] = h; });
    try { localStorage.setItem(DUE_KEY, JSON.stringify(map)); } catch (e) { /* full: ignore */ }
  }

  function localIso(date) {
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  function setupForm(form) {
    var wanted = new URLSearchParams(location.search).get("household");
    var embedded = JSON.parse((document.getElementById("visit-household") || {}).textContent || "null");
    var household = embedded && String(embedded.id) === wanted ? embedded : dueHouseholds()[wanted];
    if (!household) {
      document.querySelector("[data-visit-missing]").classList.remove("d-none");
      form.classList.add("d-none");
      return;
    }
    var label = household.head + (household.desa ? " · " + household.desa : "");
    form.querySelector("[data-household-head]").textContent = household.head || "—";
    form.querySelector("[data-household-address]").textContent =
      [household.address, household.rt ? "RT " + household.rt + "/RW " + household.rw : "", household.desa]
        .filter(Boolean).join(" · ");
    form.elements.household.value = household.id;
    form.elements.household_version.value = household.version;
    form.elements.visited_at.value = localIso(new Date());

    var rows = form.querySelector("[data-member-changes]");
    var template = document.getElementById("member-change-row");
    function showFor(row) {
      var kind = row.querySelector('[data-f="change"]').value;
      row.querySelectorAll("[data-for]").forEach(function (el) {
        el.classList.toggle("d-none", el.dataset.for.split(" ").indexOf(kind) < 0);
      });
    }
    var rowCount = 0;
    form.querySelector("[data-add-change]").addEventListener("click", function () {
      var row = template.content.firstElementChild.cloneNode(true);
      // Each row's labels name its own inputs: "__row__" in the template's ids becomes a number
      // never used before on this page (rows removed keep theirs spent).
      rowCount += 1;
      row.querySelectorAll("[id]").forEach(function (el) { el.id = el.id.replace("__row__", rowCount); });
      row.querySelectorAll("label[for]").forEach(function (el) {
        el.htmlFor = el.htmlFor.replace("__row__", rowCount);
      });
      var select = row.querySelector("[data-member-select]");
      household.members.forEach(function (m) {
        var option = document.createElement("option");
        option.value = m.id;
        option.textContent = m.name;
        select.appendChild(option);
      });
      row.querySelector('[data-f="change"]').addEventListener("change", function () { showFor(row); });
      row.querySelector("[data-remove-change]").addEventListener("click", function () { row.remove(); });
      rows.appendChild(row);
      showFor(row);
    });

    form.querySelector("[data-gps]").addEventListener("click", function () {
      var text = form.querySelector("[data-gps-text]");
      if (!navigator.geolocation) { text.textContent = MSG.gpsFailed; return; }
      text.textContent = "…";
      navigator.geolocation.getCurrentPosition(function (position) {
        form.elements.lat.value = position.coords.latitude.toFixed(6);
        form.elements.lng.value = position.coords.longitude.toFixed(6);
        form.elements.gps_accuracy_m.value = Math.round(position.coords.accuracy);
        text.textContent = MSG.gps.replace("{m}", Math.round(position.coords.accuracy));
      }, function () { text.textContent = MSG.gpsFailed; }, { enableHighAccuracy: true, timeout: 30000 });
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors(form);
      var entry = {
        uuid: crypto.randomUUID(),
        status: "waiting",
        label: label,
        created: new Date().toISOString(),
        fields: {
          household: form.elements.household.value,
          household_version: form.elements.household_version.value,
          visited_at: new Date(form.elements.visited_at.value).toISOString(),
          met: (form.querySelector('input[name="met"]:checked') || {}).value || "",
          monthly_expenditure: form.elements.monthly_expenditure.value,
          monthly_income: form.elements.monthly_income.value,
          unmet_needs: Array.prototype.map.call(
            form.querySelectorAll('input[name="unmet_needs"]:checked'), function (el) { return el.value; }),
          notes: form.elements.notes.value,
          lat: form.elements.lat.value,
          lng: form.elements.lng.value,
          gps_accuracy_m: form.elements.gps_accuracy_m.value,
        },
        member_changes: Array.prototype.map.call(rows.querySelectorAll("[data-change-row]"), function (row) {
          var change = {};
          row.querySelectorAll("[data-f]").forEach(function (el) {
            if (!el.closest("[data-for]") || !el.closest("[data-for]").classList.contains("d-none")) {
              if (el.value !== "") { change[el.dataset.f] = el.dataset.f === "member" ? Number(el.value) : el.value; }
            }
          });
          return change;
        }),
        photos: Array.prototype.slice.call(form.elements.photos.files || []),
      };
      var button = form.querySelector("[data-visit-submit]");
      button.disabled = true;
      putEntry(entry).then(function () {
        return send(entry);
      }).then(function (outcome) {
        var saved = document.querySelector("[data-visit-saved]");
        if (outcome === "refused") {
          showErrors(form, entry.errors || {});
          return deleteEntry(entry.uuid);
        }
        if (outcome === "sent") {
          saved.textContent = MSG.sent;
          return deleteEntry(entry.uuid).then(function () { finish(form, saved, rows); });
        }
        saved.textContent = MSG.saved;
        finish(form, saved, rows);
      }).catch(function () {
        document.querySelector("[data-visit-saved]").textContent = MSG.saved;
      }).then(function () {
        button.disabled = false;
        showCount();
      });
    });
  }

  function finish(form, saved, rows) {
    saved.classList.remove("d-none", "alert-danger");
    saved.classList.add("alert-success");
    var keep = { household: form.elements.household.value, version: form.elements.household_version.value };
    form.reset();
    rows.textContent = "";
    form.elements.household.value = keep.household;
    form.elements.household_version.value = keep.version;
    form.elements.visited_at.value = localIso(new Date());
    saved.scrollIntoView({ block: "center" });
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach(function (el) { el.textContent = ""; el.classList.remove("d-block"); });
    form.querySelectorAll(".is-invalid").forEach(function (el) { el.classList.remove("is-invalid"); });
  }

  function showErrors(form, errors) {
    var general = [];
    Object.keys(errors).forEach(function (key) {
      var base = key.split("[")[0].split(".")[0];
      if (base === "lng") { base = "lat"; }
      var target = form.querySelector('[data-error-for="' + base + '"]');
      var text = [].concat(errors[key]).join(" ");
      if (target) {
        target.textContent = (target.textContent ? target.textContent + " " : "") +
          (key !== base ? key + ": " : "") + text;
        target.classList.add("d-block");
        var input = form.elements[base];
        if (input && input.classList) { input.classList.add("is-invalid"); }
      } else {
        general.push(text);
      }
    });
    var saved = document.querySelector("[data-visit-saved]");
    saved.classList.remove("d-none", "alert-success");
    saved.classList.add("alert-danger");
    saved.textContent = MSG.refused + (general.length ? " " + general.join(" ") : "");
  }

  // --- start -----------------------------------------------------------------------------------

  if ("serviceWorker" in navigator && SW) {
    navigator.serviceWorker.register(SW, { scope: "/" }).catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () {
    rememberDue();
    var form = document.querySelector("[data-visit-form]");
    if (form) { setupForm(form); }
    document.querySelectorAll("[data-queue-send]").forEach(function (b) { b.addEventListener("click", flush); });
    document.querySelectorAll("[data-queue-clear]").forEach(function (b) {
      b.addEventListener("click", function () {
        allEntries().then(function (entries) {
          return Promise.all(entries.filter(function (e) { return e.status === "refused"; })
            .map(function (e) { return deleteEntry(e.uuid); }));
        }).then(showCount);
      });
    });
    showCount().then(flush);
  });
  window.addEventListener("online", flush);
  window.addEventListener("offline", showCount);
  setInterval(flush, 20000);

  window.povertycaseVisits = { flush: flush, count: showCount, entries: allEntries };
})();
