import { createPushEmulator, type PushEmulator } from "./app";

interface Env {
  FCM_PUBLIC_KEY: string;
  FCM_PROJECT_ID: string;
  FCM_CLIENT_EMAIL: string;
}

// One emulator per isolate: `wrangler dev` keeps one, so the messages stay until it restarts.
let emulator: PushEmulator | undefined;

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    emulator ??= createPushEmulator({
      publicKey: env.FCM_PUBLIC_KEY,
      projectId: env.FCM_PROJECT_ID,
      clientEmail: env.FCM_CLIENT_EMAIL,
    });
    return emulator.fetch(request);
  },
} satisfies ExportedHandler<Env>;
