/**
 * The page's entry point. It has no Node: it reaches main only through
 * `window.netbootComposer`, which the preload exposes (electron/preload).
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { NetbootApi } from '../electron/shared/ipc.ts';
import { App } from './components/App.tsx';
import { StoreContext } from './context.tsx';
import { connectJobEvents, createAppStore } from './store/index.ts';
import './style.css';

declare global {
  interface Window {
    netbootComposer?: NetbootApi;
  }
}

const root = createRoot(document.getElementById('root')!);
const api = window.netbootComposer;
if (!api) {
  root.render(
    <p className="banner banner-error" role="alert">
      This page runs inside the Netboot Composer app; open it with npm start.
    </p>,
  );
} else {
  const store = createAppStore(api);
  connectJobEvents(api, store);
  void store.getState().init();
  root.render(
    <StrictMode>
      <StoreContext.Provider value={store}>
        <App />
      </StoreContext.Provider>
    </StrictMode>,
  );
}
