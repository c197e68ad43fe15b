// A small real SMTP server for the browser tests: it accepts every message on a random
// port and keeps it, so a test can read the mail and follow its link.
import net from "node:net";

export async function startSmtp() {
  const messages = [];
  const server = net.createServer((socket) => {
    let buffer = "";
    let inData = false;
    let to = [];
    socket.write("220 mail.test ESMTP\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          const raw = buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          inData = false;
          const body = raw.replace(/=\r\n/g, "").replace(/=3D/g, "=");
          messages.push({ to, body });
          to = [];
          socket.write("250 OK\r\n");
          continue;
        }
        const line = buffer.indexOf("\r\n");
        if (line < 0) return;
        const command = buffer.slice(0, line);
        buffer = buffer.slice(line + 2);
        const verb = command.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") socket.write("250 mail.test\r\n");
        else if (verb === "RCPT") {
          to.push(command.replace(/^RCPT TO:\s*<?([^>]*)>?.*$/i, "$1"));
          socket.write("250 OK\r\n");
        } else if (verb === "DATA") {
          inData = true;
          socket.write("354 End data with <CR><LF>.<CR><LF>\r\n");
        } else if (verb === "QUIT") {
          socket.end("221 Bye\r\n");
        } else socket.write("250 OK\r\n");
      }
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.address().port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    /** The first message to `address`, waiting up to 10 s. */
    async waitFor(address) {
      for (let i = 0; i < 200; i++) {
        const found = messages.find((m) => m.to.includes(address));
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no mail to ${address}`);
    },
    close: () => server.close(),
  };
}
