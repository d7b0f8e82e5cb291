/** The store, handed to components through context and read with selectors. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { AppState, AppStore } from './store/index.ts';

export const StoreContext = createContext<AppStore | undefined>(undefined);

/** Read a slice of the app's state; the component re-renders only when it changes. */
export function useApp<T>(selector: (state: AppState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useApp outside <StoreContext.Provider>');
  return useStore(store, selector);
}
