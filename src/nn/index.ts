/** Modules (parameter trees with PyTorch state_dict names), layers, initialisers and functional ops. */
export * from './module.ts';
export * from './init.ts';
export * from './layers.ts';
export * from './functional.ts';
export * from './mode.ts';
export * from './extras.ts';
export * from './spatial.ts';
export * from './conv.ts';
