// The iPXE script is pure and shared with the app's page, which previews it.
export * from '../shared/ipxe.ts';
