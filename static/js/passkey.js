// Latchkey passkeys: the browser side of WebAuthn. No framework, no CDN.
// The password form works without this script; it only adds passkey buttons and autofill.
"use strict";

(function () {
  const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const message = document.getElementById("passkey-message");

  function show(text) {
    if (!message) return;
    message.textContent = text;
    message.hidden = !text;
  }

  function toBuffer(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  }

  function toBase64url(buffer) {
    if (!buffer) return null;
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    // A sensitive action on an old session: sign in again, then come back.
    if (data.sign_in) window.location.assign(data.sign_in);
    if (!response.ok) throw new Error(data.error || "The server refused the request.");
    return data;
  }

  function explain(error) {
    if (error && error.name === "NotAllowedError") return "The passkey request was cancelled or timed out.";
    if (error && error.name === "InvalidStateError") return "This passkey is already registered.";
    if (error && error.name === "AbortError") return "";
    return (error && error.message) || "Something went wrong with the passkey.";
  }

  function supported() {
    if (window.PublicKeyCredential && navigator.credentials) return true;
    show("This browser does not support passkeys. Use your password instead.");
    return false;
  }

  function requestOptions(options) {
    const publicKey = options.publicKey;
    publicKey.challenge = toBuffer(publicKey.challenge);
    for (const credential of publicKey.allowCredentials || []) credential.id = toBuffer(credential.id);
    return publicKey;
  }

  function assertionJson(credential) {
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toBase64url(credential.response.authenticatorData),
        clientDataJSON: toBase64url(credential.response.clientDataJSON),
        signature: toBase64url(credential.response.signature),
        userHandle: toBase64url(credential.response.userHandle),
      },
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    };
  }

  // Sign-in: the "Sign in with a passkey" button, and autofill where the browser offers it.
  const signInButton = document.getElementById("passkey-sign-in");
  const authorizationRequest = document.querySelector('meta[name="authorization-request"]')?.content || "";
  const signInNext = document.querySelector('meta[name="sign-in-next"]')?.content || "";
  let autofill = null;

  async function signIn(mediation) {
    // Autofill's controller exists before its first await, so a click on the button while
    // autofill is still starting can always cancel it.
    const controller = mediation === "conditional" ? new AbortController() : null;
    if (controller) autofill = controller;
    const started = await post("/login/passkey/start");
    if (controller && controller.signal.aborted) return;
    const get = { publicKey: requestOptions(started.options) };
    if (controller) {
      get.mediation = "conditional";
      get.signal = controller.signal;
    }
    const credential = await navigator.credentials.get(get);
    const finished = await post("/login/passkey/finish", {
      ceremony: started.ceremony,
      credential: assertionJson(credential),
      request: authorizationRequest || null,
      next: signInNext || null,
    });
    window.location.assign(finished.redirect);
  }

  if (signInButton) {
    signInButton.addEventListener("click", async () => {
      show("");
      if (!supported()) return;
      if (autofill) {
        autofill.abort();
        autofill = null;
      }
      try {
        await signIn("modal");
      } catch (error) {
        show(explain(error));
      }
    });
    if (window.PublicKeyCredential && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
        if (available) signIn("conditional").catch((error) => show(explain(error)));
      });
    }
  }

  // Registration on the account page, or on an invitation (bound to its token).
  const addButton = document.getElementById("add-passkey");
  const inviteToken = document.querySelector('meta[name="invite-token"]')?.content || "";
  const registration = inviteToken ? "/invite/passkey" : "/account/passkeys/register";
  const invitation = inviteToken ? { token: inviteToken } : {};
  if (addButton) {
    addButton.addEventListener("click", async () => {
      show("");
      if (!supported()) return;
      try {
        const started = await post(`${registration}/start`, invitation);
        const publicKey = started.options.publicKey;
        publicKey.challenge = toBuffer(publicKey.challenge);
        publicKey.user.id = toBuffer(publicKey.user.id);
        for (const credential of publicKey.excludeCredentials || []) credential.id = toBuffer(credential.id);
        const credential = await navigator.credentials.create({ publicKey });
        const finished = await post(`${registration}/finish`, {
          ...invitation,
          ceremony: started.ceremony,
          name: document.getElementById("passkey-name")?.value || "Passkey",
          credential: {
            id: credential.id,
            rawId: toBase64url(credential.rawId),
            type: credential.type,
            response: {
              attestationObject: toBase64url(credential.response.attestationObject),
              clientDataJSON: toBase64url(credential.response.clientDataJSON),
              transports: credential.response.getTransports ? credential.response.getTransports() : undefined,
            },
            extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
          },
        });
        if (finished.redirect) window.location.assign(finished.redirect);
        else window.location.reload();
      } catch (error) {
        show(explain(error));
      }
    });
  }
})();
